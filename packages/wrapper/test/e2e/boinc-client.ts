import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const BOINC = '/usr/bin/boinc';
const BOINCCMD = '/usr/bin/boinccmd';

/** Log flags the tests read, and results reported at once; `ncpus` limits the tasks run side by side. */
const ccConfig = (ncpus: number | undefined) => `<cc_config>
  <log_flags>
    <task>1</task><file_xfer>1</file_xfer><sched_ops>1</sched_ops><sched_op_debug>1</sched_op_debug>
    <task_debug>1</task_debug><checkpoint_debug>1</checkpoint_debug><app_msg_receive>1</app_msg_receive><app_msg_send>1</app_msg_send>
  </log_flags>
  <options><report_results_immediately>1</report_results_immediately>${ncpus ? `<ncpus>${ncpus}</ncpus>` : ''}</options>
</cc_config>
`;

/** Compute now whatever the machine is doing, checkpoint every `diskInterval` seconds; suspend means <suspend/> or <quit/>. */
const prefs = (leaveAppsInMemory: boolean, diskInterval: number) => `<global_preferences>
  <run_on_batteries>1</run_on_batteries><run_if_user_active>1</run_if_user_active><suspend_if_no_recent_input>0</suspend_if_no_recent_input>
  <suspend_cpu_usage>0</suspend_cpu_usage><cpu_usage_limit>100</cpu_usage_limit><max_ncpus_pct>100</max_ncpus_pct><idle_time_to_run>0</idle_time_to_run>
  <work_buf_min_days>0</work_buf_min_days><work_buf_additional_days>0</work_buf_additional_days>
  <disk_interval>${diskInterval}</disk_interval><leave_apps_in_memory>${leaveAppsInMemory ? 1 : 0}</leave_apps_in_memory>
  <disk_max_used_gb>0</disk_max_used_gb><disk_max_used_pct>90</disk_max_used_pct><disk_min_free_gb>0.1</disk_min_free_gb>
  <ram_max_used_busy_pct>90</ram_max_used_busy_pct><ram_max_used_idle_pct>90</ram_max_used_idle_pct>
</global_preferences>
`;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Debian's real BOINC client, run headless in a scratch data directory (never as the system service). */
export class BoincClient {
  log = '';
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  private constructor(
    readonly dir: string,
    private readonly port: number,
  ) {}

  /**
   * A fresh data directory attached to the project; pass `dir` to restart a client on its old state.
   * `checkpointPeriod` is the volunteer's "checkpoint at most every" (disk_interval), 1 s unless given;
   * `authenticator` is an account's key (a real server's); `ncpus` limits the tasks run side by side.
   */
  static async start(
    masterUrl: string,
    options: { dir?: string; leaveAppsInMemory?: boolean; checkpointPeriod?: number; authenticator?: string; ncpus?: number } = {},
  ): Promise<BoincClient> {
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'axiom-boinc-client-')));
    const client = new BoincClient(dir, await freePort());
    await writeFile(join(dir, 'cc_config.xml'), ccConfig(options.ncpus));
    await writeFile(join(dir, 'global_prefs_override.xml'), prefs(options.leaveAppsInMemory ?? false, options.checkpointPeriod ?? 1));
    await writeFile(join(dir, 'gui_rpc_auth.cfg'), ''); // empty: boinccmd needs no password
    const args = [
      '--dir',
      dir,
      '--allow_multiple_clients',
      '--no_gpus',
      '--skip_cpu_benchmarks',
      '--no_info_fetch',
      '--gui_rpc_port',
      String(client.port),
      '--sched_retry_delay_min',
      '1',
      '--sched_retry_delay_max',
      '10',
      '--pers_retry_delay_min',
      '1',
      '--pers_retry_delay_max',
      '5',
      ...(options.dir ? [] : ['--attach_project', masterUrl, options.authenticator ?? 'test-authenticator']),
    ];
    client.child = spawn(BOINC, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    client.child.stdout!.on('data', (chunk) => (client.log += chunk));
    client.child.stderr!.on('data', (chunk) => (client.log += chunk));
    client.exited = new Promise((resolve) => client.child!.on('close', resolve));
    return client;
  }

  async waitForLog(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const start = Date.now();
    while (Date.now() - start < timeoutMs) {
      const match = this.log.match(pattern);
      if (match) return match;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`client log did not show ${pattern} within ${timeoutMs} ms; last lines:\n${this.log.split('\n').slice(-25).join('\n')}`);
  }

  async waitForFraction(atLeast: number, timeoutMs: number): Promise<void> {
    const start = Date.now();
    while (!this.fractions().some((f) => f >= atLeast)) {
      if (Date.now() - start > timeoutMs)
        throw new Error(`the app never reported fraction_done ≥ ${atLeast}; last lines:\n${this.log.split('\n').slice(-25).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Fractions the app reported, in order, from the client's app_msg_receive log. */
  fractions(): number[] {
    return [...this.log.matchAll(/<fraction_done>([^<]+)<\/fraction_done>/g)].map((m) => Number(m[1]));
  }

  /** The CPU seconds the app reported, in order: its current total and the total at its last checkpoint. */
  cpuTimes(): Array<{ current: number; checkpoint: number }> {
    return [...this.log.matchAll(/<current_cpu_time>([^<]+)<\/current_cpu_time>[\s\S]*?<checkpoint_cpu_time>([^<]+)<\/checkpoint_cpu_time>/g)].map((m) => ({
      current: Number(m[1]),
      checkpoint: Number(m[2]),
    }));
  }

  async command(...args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(BOINCCMD, ['--host', `127.0.0.1:${this.port}`, ...args]);
    return stdout;
  }

  /** SIGTERM: the client tells its apps to quit, waits for them, and exits (as on a volunteer's shutdown). */
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 90_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** PIDs of processes still running from this client's data directory (apps it started). */
  leftoverProcesses(): number[] {
    const found = spawnSync('pgrep', ['-f', this.dir], { encoding: 'utf8' });
    return found.stdout
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => pid !== this.child?.pid);
  }

  /** Kills everything this client left running; returns what it had to kill. */
  async cleanUp(): Promise<number[]> {
    await this.stop();
    const leftovers = this.leftoverProcesses();
    for (const pid of leftovers) process.kill(pid, 'SIGKILL');
    return leftovers;
  }
}
