import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxiomError, type Checkpoint, checkpointSchema, fileCheckpointStore, resultSchema } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { Channel, CHECKPOINT_FILE, type ControlMessage, MMAP_FILE, runBoincWorker, SharedMemory } from '@axiom/wrapper';

export const AXIOM = fileURLToPath(new URL('../../cli/bin/axiom.js', import.meta.url));

/** The checkpoint the worker left in a slot, validated. */
export async function savedCheckpoint(slotDir: string): Promise<Checkpoint> {
  return checkpointSchema.parse(await fileCheckpointStore(join(slotDir, CHECKPOINT_FILE)).load());
}

/**
 * A slot directory laid out as the BOINC client lays it out: input and output as link files into the
 * project directory, init_data.xml, and a zeroed boinc_mmap_file.
 */
export async function makeSlot(workunit: unknown, init: Record<string, string | number> = {}) {
  const root = await mkdtemp(join(tmpdir(), 'axiom-boinc-'));
  const projectDir = join(root, 'projects', 'test_project');
  const slotDir = join(root, 'slots', '0');
  await mkdir(projectDir, { recursive: true });
  await mkdir(slotDir, { recursive: true });
  await writeFile(join(projectDir, 'wu_1.json'), typeof workunit === 'string' ? workunit : JSON.stringify(workunit));
  await writeFile(join(slotDir, 'wu.json'), '<soft_link>../../projects/test_project/wu_1.json</soft_link>\n');
  await writeFile(join(slotDir, 'result.json'), '<soft_link>../../projects/test_project/wu_1_0_r0</soft_link>\n');
  const fields = { wu_name: 'wu_1', result_name: 'wu_1_0', project_dir: projectDir, client_pid: process.pid, checkpoint_period: 0, ncpus: 1, ...init };
  await writeFile(
    join(slotDir, 'init_data.xml'),
    `<app_init_data>\n${Object.entries(fields)
      .map(([k, v]) => `<${k}>${v}</${k}>`)
      .join('\n')}\n</app_init_data>\n`,
  );
  await writeFile(join(slotDir, 'boinc_mmap_file'), Buffer.alloc(8192));
  return { root, projectDir, slotDir, resultPath: join(projectDir, 'wu_1_0_r0') };
}

export type Slot = Awaited<ReturnType<typeof makeSlot>>;

/** The digest of the workunit run once, without interruption, in a fresh slot. */
export async function uninterruptedDigest(workunit: unknown, init: Record<string, string | number> = {}): Promise<string> {
  const slot = await makeSlot(workunit, init);
  const client = new SimulatedClient(slot.slotDir);
  const code = await client.exited;
  if (code !== 0) throw new Error(`uninterrupted run exited ${code}: ${client.stderr}`);
  return resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8'))).digest;
}

/** How often the worker reads the client's messages (ClientChannel's period). */
const READ_PERIOD_MS = 1000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Processes whose working directory is the slot: the worker, and the sandbox or pool workers it started. */
export function processesIn(slotDir: string): number[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === slotDir;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Signals a process unless it has ended meanwhile. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export interface AppStatus {
  cpu: number;
  checkpointCpu: number;
  fraction: number;
}

/** Plays the client's side of the shared-memory protocol against a worker started in the slot. */
export class SimulatedClient {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stderr = '';
  statuses: AppStatus[] = [];
  /** Added to every heartbeat, e.g. `<suspend_network/>` while the volunteer has suspended network activity. */
  heartbeatExtra = '';
  private readonly memory: SharedMemory;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly slotDir: string,
    heartbeats = true,
  ) {
    // As the client does when it starts a task (reset_msgs, client/app_start.cpp): no message of an earlier run is read as this one's.
    const mmap = join(slotDir, MMAP_FILE);
    writeFileSync(mmap, Buffer.alloc(statSync(mmap).size));
    this.memory = SharedMemory.open(slotDir);
    this.child = spawn(process.execPath, [AXIOM, 'worker'], { cwd: slotDir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (chunk) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
    this.timer = setInterval(() => {
      if (heartbeats) this.memory.send(Channel.heartbeat, `<heartbeat/>${this.heartbeatExtra}`);
      const message = this.memory.receive(Channel.appStatus);
      if (message) {
        const value = (tag: string) => Number(new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(message)?.[1]);
        this.statuses.push({ cpu: value('current_cpu_time'), checkpointCpu: value('checkpoint_cpu_time'), fraction: value('fraction_done') });
      }
    }, 100);
    void this.exited.then(() => clearInterval(this.timer));
  }

  control(message: ControlMessage): void {
    // The client retries until the app has taken the previous request; so do we.
    const attempt = () => (this.memory.send(Channel.processControlRequest, `<${message}/>`) ? undefined : setTimeout(attempt, 50));
    attempt();
  }

  /**
   * Sends a control message with every process of the task (the worker, its sandbox or pool workers) held still
   * until the worker reads it, so that it lands where the test saw the task however fast the machine: the worker
   * reads the client's messages once a second, time enough for a short run to end first. Held past that second,
   * the worker's read is due the moment it goes on, at its training's next yield.
   */
  async controlHeld(message: ControlMessage): Promise<void> {
    const unread = () => this.memory.hasUnread(Channel.processControlRequest);
    while (unread()) await pause(50);
    const held = processesIn(this.slotDir);
    held.forEach((pid) => signal(pid, 'SIGSTOP'));
    this.memory.send(Channel.processControlRequest, `<${message}/>`);
    await pause(READ_PERIOD_MS + 100);
    held.forEach((pid) => signal(pid, 'SIGCONT'));
    while (unread()) await pause(50);
  }

  latest(): AppStatus | undefined {
    return this.statuses.at(-1);
  }

  async until(predicate: (status: AppStatus) => boolean, timeoutMs = 20_000): Promise<AppStatus> {
    const start = Date.now();
    while (Date.now() - start < timeoutMs) {
      const status = this.latest();
      if (status && predicate(status)) return status;
      await pause(50);
    }
    throw new Error(`no status matched within ${timeoutMs} ms; last: ${JSON.stringify(this.latest())}; stderr: ${this.stderr}`);
  }

  /** The latest status once `count` more have arrived. */
  statusesOn(count: number): Promise<AppStatus> {
    const target = this.statuses.length + count;
    return this.until(() => this.statuses.length >= target);
  }

  /**
   * Suspends the task; returns the status it paused at and the latest two statuses later, for a test to
   * check that nothing moved in between. The worker takes control messages and sends a status once a
   * second, and progress sent just before the pause took hold may still be on its way: so it waits, for a
   * bounded number of statuses, until the fraction holds still from one status to the next.
   */
  async suspend(): Promise<{ paused: AppStatus; later: AppStatus }> {
    await this.controlHeld('suspend');
    let paused = await this.statusesOn(2);
    for (let statuses = 0; statuses < 10; statuses++) {
      const next = await this.statusesOn(1);
      const still = next.fraction === paused.fraction;
      paused = next;
      if (still) break;
    }
    return { paused, later: await this.statusesOn(2) };
  }
}

/** `axiom worker` run in this process on a slot (to change its backends, say), its stderr lines collected in `lines`. */
export function runWorkerInProcess(slotDir: string, lines: string[]): Promise<number> {
  return runBoincWorker(
    slotDir,
    { builtins: builtinExperiments, sandbox: { entry: AXIOM, args: ['sandboxed-run'] }, poolWorker: { entry: AXIOM, args: ['pool-worker'] } },
    {
      stderr: (line) => lines.push(line),
      exit: (status) => {
        throw new AxiomError('internal', `unexpected exit ${status}`);
      },
    },
  );
}
