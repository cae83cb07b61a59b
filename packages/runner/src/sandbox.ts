import { spawn, spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { defaultThreadCount } from './backend.js';
import { AxiomError, ExitCode, errorMessage, type ExitCodeName } from './errors.js';
import type { ProgressUpdate, RunnerHost, SelfLauncher } from './host.js';
import { throttled } from './throttle.js';
import { sha256Hex } from './json.js';
import { describeZodError } from './params.js';
import { runExperiment, type RunOutcome, type RunRequest } from './run.js';
import { installSandboxGuards, type SandboxViolation } from './sandbox-guards.js';
import {
  exitCodeMismatch,
  fromSandboxSchema,
  hostCallArguments,
  MessageRateLimit,
  oversizedMessage,
  untrustedResultDefect,
  type FromSandbox,
  type HostCall,
} from './sandbox-protocol.js';
import type { Result, SandboxRecord, ScriptProvenance } from './schemas.js';
import { importScriptExperiment, type ResolvedExperiment } from './script.js';

/**
 * A fetched script runs in a child process with least privilege: Node's permission model lets it read
 * only the worker's own code and write nothing, spawn nothing and load no addons; on Linux a network
 * namespace with no interfaces takes the network away. The parent (trusted) fetched and verified the
 * script and keeps every file: checkpoints and the result travel over IPC, through the parent's host.
 */

/** The run a sandbox is asked to do: a run request, with the script's verified bytes instead of a loaded experiment. */
export type SandboxedRunRequest = Omit<RunRequest, 'experiment' | 'host' | 'sandbox'> & { script: ScriptProvenance; scriptPath: string };

type ToSandbox =
  | {
      type: 'start';
      run: Omit<SandboxedRunRequest, 'scriptPath'>;
      scriptBytes: Uint8Array;
      sandbox: SandboxRecord;
      hasCheckpoints: boolean;
      checkpointPeriodSeconds?: number;
    }
  | { type: 'reply'; id: number; value?: unknown; error?: { kind?: ExitCodeName; message: string } }
  | { type: 'abort' };

/** A message from the sandbox that the parent refuses to act on: it stops the sandbox. */
class ProtocolBreach extends Error {}

/** The directory the worker's code is read from: the nearest one holding node_modules, else the bundle's own. */
export function codeRoot(entry: string): string {
  const real = realpathSync(entry);
  for (let dir = dirname(real); dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'node_modules'))) return dir;
  return dirname(real);
}

let namespaceAvailable: boolean | undefined;
/** Whether this host lets an unprivileged process take itself off the network (Linux user + network namespaces). */
function networkNamespaceAvailable(): boolean {
  namespaceAvailable ??= spawnSync('unshare', ['--user', '--map-root-user', '--net', '--', 'true'], { stdio: 'ignore' }).status === 0;
  return namespaceAvailable;
}

const permissionFlag = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';

/** The sandbox's Node flags: read the code, nothing else; no write, child process, worker or addon flag is given. */
function sandboxRecord(launcher: SelfLauncher, threads: number): SandboxRecord {
  const network = networkNamespaceAvailable() ? 'namespace' : 'guard';
  // The threaded WASM build needs workers; the in-process guard does not reach into them, so only a namespace may allow them.
  const workers = network === 'namespace' && threads > 1;
  const fsRead = [codeRoot(launcher.entry)];
  return { permissions: [permissionFlag, ...fsRead.map((path) => `--allow-fs-read=${path}`), ...(workers ? ['--allow-worker'] : [])], fsRead, network };
}

function describeViolation(violation: SandboxViolation): string {
  const what: Record<string, string> = {
    FileSystemRead: 'read',
    FileSystemWrite: 'write',
    ChildProcess: 'start a process:',
    WorkerThreads: 'start a worker thread:',
    Network: 'reach the network through',
  };
  return `${what[violation.permission] ?? `use ${violation.permission}:`} ${violation.resource}`;
}

/**
 * Runs a fetched script in its sandbox, with `host` (the parent's) doing all I/O. Resolves like
 * `runExperiment`; a forbidden attempt kills the sandbox at once and rejects with exit 15.
 */
export async function runSandboxed(request: SandboxedRunRequest, host: RunnerHost, launcher: SelfLauncher): Promise<RunOutcome> {
  const { scriptPath, ...run } = request;
  const scriptBytes = await readFile(scriptPath);
  // The cache file is re-checked here: what runs is exactly what was verified.
  if (sha256Hex(scriptBytes) !== run.script.sha256) {
    throw new AxiomError('scriptRejected', `${scriptPath} changed since it was verified (sha256 is no longer ${run.script.sha256}); nothing was run`);
  }
  // Resolved here: the sandbox gets an empty environment, and its permissions depend on the thread count.
  const threads = run.backend.threads ?? defaultThreadCount();
  run.backend = { ...run.backend, threads };
  const sandbox = sandboxRecord(launcher, threads);
  const nodeArgs = ['--disable-warning=ExperimentalWarning', '--disable-warning=SecurityWarning', ...sandbox.permissions, launcher.entry, ...launcher.args];
  const [command, args] =
    sandbox.network === 'namespace' ? ['unshare', ['--user', '--map-root-user', '--net', '--', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  // An empty environment: the parent's variables (tokens, proxies) are none of the script's business.
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', env: { PATH: process.env.PATH ?? '' } });
  if (child.pid !== undefined) host.childStarted?.(child.pid);
  const send = (message: ToSandbox) => {
    if (child.connected) child.send(message);
  };
  const onAbort = () => send({ type: 'abort' });
  // The result the parent validated and wrote: the run's outcome, whatever the child says afterwards.
  let written: { result: Result; location: string } | undefined;
  // Set when the child is killed: nothing it asked for afterwards is done.
  let stopped = false;
  const expected = { seed: run.seed.value, scriptSha256: run.script.sha256, sandbox };
  // What the sandbox may ask of the parent's host: the run's only way to touch files or the BOINC client.
  // Each argument was parsed with its method's schema (hostCallArguments).
  const hostCalls: { [M in HostCall]: (argument: z.infer<(typeof hostCallArguments)[M]>) => unknown } = {
    'checkpoints.load': () => host.checkpoints?.load(),
    'checkpoints.save': (checkpoint) => host.checkpoints?.save(checkpoint),
    'checkpoints.clear': () => host.checkpoints?.clear(),
    'sink.prepare': () => host.sink.prepare(),
    'sink.write': async (result) => {
      const defect = written ? 'it wrote a second result' : untrustedResultDefect(result, expected);
      if (defect) throw new ProtocolBreach(`sent a result that fails validation: ${defect}`);
      if (stopped) throw new ProtocolBreach('wrote its result after it was stopped');
      const location = await host.sink.write(result);
      written = { result, location };
      return location;
    },
    whenRunnable: () => host.control.whenRunnable?.(),
  };

  try {
    return await new Promise<RunOutcome>((resolve, reject) => {
      /** Kills the child at once; nothing it sent afterwards is acted on. */
      const stop = (error: Error) => {
        stopped = true;
        child.kill('SIGKILL');
        reject(error);
      };
      const breach = (what: string) =>
        stop(new AxiomError('sandboxViolation', `experiment script ${run.script.url} ${what}; the sandbox stopped it and nothing of the run is kept`));
      const answer = async (id: number, method: HostCall, argument: unknown) => {
        const parsed = hostCallArguments[method].safeParse(argument);
        if (!parsed.success) return breach(`sent a malformed ${method} call: ${describeZodError(parsed.error, hostCallArguments[method])}`);
        try {
          send({ type: 'reply', id, value: await (hostCalls[method] as (argument: unknown) => unknown)(parsed.data) });
        } catch (error) {
          if (error instanceof ProtocolBreach) return breach(error.message);
          send({ type: 'reply', id, error: { kind: error instanceof AxiomError ? error.kind : undefined, message: errorMessage(error) } });
        }
      };
      const rateLimit = new MessageRateLimit();
      child.on('message', (raw: unknown) => {
        if (stopped) return;
        const oversized = oversizedMessage(raw);
        if (oversized) return breach(`sent ${oversized}`);
        if (!rateLimit.take()) return breach(`sent messages faster than ${rateLimit.perSecond} a second (after a burst of ${rateLimit.burst})`);
        const parsed = fromSandboxSchema.safeParse(raw);
        if (!parsed.success) return breach(`sent a malformed message: ${describeZodError(parsed.error, fromSandboxSchema)}`);
        const message: FromSandbox = parsed.data;
        switch (message.type) {
          case 'call':
            void answer(message.id, message.method, message.argument);
            break;
          case 'progress':
            host.progress(message.update);
            break;
          case 'log':
            host.log(message.message);
            break;
          case 'warn':
            host.warn(message.warning);
            break;
          case 'violation':
            breach(`tried to ${describeViolation(message.violation)}`);
            break;
          case 'done': {
            const defect = written ? exitCodeMismatch(written.result, message.exitCode) : 'it wrote no result';
            if (defect) breach(`ended with an outcome that does not hold: ${defect}`);
            else resolve({ ...written!, exitCode: message.exitCode });
            break;
          }
          case 'failed':
            reject(message.kind ? new AxiomError(message.kind, message.message, { transient: message.transient }) : new Error(message.message));
            break;
        }
      });
      child.on('error', (error) => reject(new Error(`cannot start the sandbox (${command}): ${error.message}`)));
      child.on('exit', (code, signal) => reject(new Error(`the sandboxed run ended without an outcome (exit code ${code}, signal ${signal})`)));
      host.control.signal.addEventListener('abort', onAbort);
      if (host.control.signal.aborted) onAbort();
      send({
        type: 'start',
        run,
        scriptBytes,
        sandbox,
        hasCheckpoints: host.checkpoints !== undefined,
        checkpointPeriodSeconds: host.checkpoints?.periodSeconds,
      });
    });
  } finally {
    host.control.signal.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Runs what `resolveExperiment` found: the user's own code in-process, a fetched script in its sandbox. */
export function runResolved(
  resolved: ResolvedExperiment,
  request: Omit<RunRequest, 'experiment' | 'script' | 'sandbox'>,
  launcher: SelfLauncher,
): Promise<RunOutcome> {
  if (resolved.kind === 'in-process') return runExperiment({ ...request, experiment: resolved.experiment, script: resolved.script });
  // Fetched code runs in its one sandboxed process only: a pool's workers would each need a sandbox of their own.
  const { host, pool, ...rest } = request;
  if (pool && pool.workers > 1) host.log(`a fetched script runs in one sandboxed process: one worker, not ${pool.workers}`);
  return runSandboxed({ ...rest, script: resolved.script, scriptPath: resolved.scriptPath }, host, launcher);
}

/**
 * The sandbox's side: called by the worker's entry point when started by `runSandboxed`. Installs the
 * guards, takes the run from the parent, and answers with its outcome; never returns.
 */
export async function serveSandboxedRun(): Promise<never> {
  const parent = process;
  if (!parent.send) throw new AxiomError('usage', 'this command is started by the worker itself, to sandbox a fetched script');
  const post = (message: FromSandbox) => parent.send!(message);
  const postLast = (message: FromSandbox) => new Promise<void>((resolve) => parent.send!(message, undefined, {}, () => resolve()));
  installSandboxGuards((violation) => post({ type: 'violation', violation }));
  // The parent decides when to stop (it relays Ctrl-C as an abort) and the sandbox dies with it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => {});
  process.on('disconnect', () => process.exit(ExitCode.interrupted));

  const aborted = new AbortController();
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextCall = 0;
  const call = <T>(method: HostCall, argument?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const id = nextCall++;
      pending.set(id, { resolve: resolve, reject });
      post({ type: 'call', id, method, argument });
    });

  const start = await new Promise<Extract<ToSandbox, { type: 'start' }>>((resolve) => {
    parent.on('message', (message: ToSandbox) => {
      if (message.type === 'start') resolve(message);
      else if (message.type === 'abort') aborted.abort();
      else {
        const waiting = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) waiting?.reject(message.error.kind ? new AxiomError(message.error.kind, message.error.message) : new Error(message.error.message));
        else waiting?.resolve(message.value);
      }
    });
  });

  try {
    const { run, scriptBytes, sandbox } = start;
    if (sha256Hex(scriptBytes) !== run.script.sha256)
      throw new AxiomError('scriptRejected', `the script handed to the sandbox is not ${run.script.sha256}; nothing was run`);
    const experiment = await importScriptExperiment(scriptBytes, run.script.url);
    const outcome = await runExperiment({
      ...run,
      experiment,
      sandbox,
      host: {
        progress: throttled((update: ProgressUpdate) => post({ type: 'progress', update })),
        log: (message) => post({ type: 'log', message }),
        warn: (warning) => post({ type: 'warn', warning }),
        ...(start.hasCheckpoints && {
          checkpoints: {
            periodSeconds: start.checkpointPeriodSeconds,
            load: () => call('checkpoints.load'),
            save: (checkpoint) => call('checkpoints.save', checkpoint),
            clear: () => call('checkpoints.clear'),
          },
        }),
        control: { signal: aborted.signal, whenRunnable: () => call('whenRunnable') },
        sink: { prepare: () => call('sink.prepare'), write: (result) => call<string>('sink.write', result) },
      },
    });
    await postLast({ type: 'done', exitCode: outcome.exitCode });
  } catch (error) {
    const axiomError = error instanceof AxiomError ? error : undefined;
    await postLast({
      type: 'failed',
      kind: axiomError?.kind,
      message: axiomError ? axiomError.message : `internal error in the sandbox: ${(error as Error)?.stack ?? String(error)}`,
      transient: axiomError?.transient ?? false,
    });
  }
  // The parent owns everything that outlives the run; pthread workers must not keep this process alive.
  process.exit(ExitCode.ok);
}
