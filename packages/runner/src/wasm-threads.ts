import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { RunWarning } from './schemas.js';
import { locateWasmFile, WASM_THREADS_SCRIPTS } from './wasm-files.js';

/**
 * tfjs-backend-wasm 4.22 never uses its threaded SIMD build under Node (tfjs issue #3830): its
 * `WASM_HAS_MULTITHREAD_SUPPORT` flag is false there, its loader hands Emscripten's pthread workers
 * Blob URLs (the worker script and the main script), which `worker_threads` cannot load, and
 * `init_with_threads_count` caps the pool at `emscripten_num_logical_cores() / 2` (`os.cpus()` in
 * Node). This turns the flag on and, only while the backend initialises, starts the workers from a
 * data: URL module that loads tfjs's own worker glue and main script from their files, and reports
 * twice the requested threads as logical cores so the count is used as given. XNNPACK splits a
 * product's output tiles between threads without changing any element's summation order.
 */
export const WASM_NODE_THREADS_PATCH = 'wasm-node-threads (threaded SIMD build under Node, thread count as given)';
const PATCHED_FOR_TFJS = '4.22.0';
/** The build pre-spawns 8 pthread workers and tfjs caps its pool at 8; a thread beyond the pre-spawned ones would need a worker loaded after the hooks are gone. */
export const MAX_WASM_THREADS = 8;
/** The parts of `@tensorflow/tfjs-backend-wasm` used here (a parameter, so the version pin can be tested). */
export interface WasmPackage {
  version_wasm: string;
  setThreadsCount(threads: number): void;
  getThreadsCount(): number;
}

export interface WasmThreading {
  /** Threads the backend's XNNPACK pool actually has. */
  threads: number;
  patches: string[];
  warnings: RunWarning[];
}

/** The files the pthread workers load, or why the threaded build is not used here. */
function prerequisites(wasm: WasmPackage): { files: string[] } | { refused: string } {
  const found = [tf.version_core, wasm.version_wasm].find((version) => version !== PATCHED_FOR_TFJS);
  // The hooks below depend on the loader's internals: refuse any other version rather than guess.
  if (found !== undefined) return { refused: `the Node threads patch was written for tfjs-backend-wasm ${PATCHED_FOR_TFJS}, found ${found}` };
  const located = WASM_THREADS_SCRIPTS.map(locateWasmFile);
  const files = located.every((file) => file !== undefined) ? located : undefined;
  if (!files) return { refused: `${WASM_THREADS_SCRIPTS.join(' and ')} are neither beside the worker nor in node_modules` };
  // A sandboxed script's process runs under Node's permission model: a worker that may not start or read these would crash the run.
  const { permission } = process;
  if (permission && !(permission.has('worker') && files.every((file) => permission.has('fs.read', file)))) {
    return { refused: "Node's permission model does not allow worker threads that read the threaded build's files" };
  }
  return { files };
}

/** The module each pthread worker starts from (a data: URL, so nothing extra is written or shipped for it). */
function workerModule([mainScript, workerGlue]: string[]): URL {
  const source = [
    "import { createRequire } from 'node:module';",
    `const mainScript = ${JSON.stringify(mainScript)};`,
    // Emscripten's worker glue and main script are CommonJS scripts evaluated in global scope.
    'globalThis.require = createRequire(mainScript);',
    'globalThis.__filename = mainScript;',
    // The glue ships in a template literal that turns its one "\n" escape into a newline; tfjs re-escapes it too.
    `(0, eval)(require(${JSON.stringify(workerGlue)}).wasmWorkerContents.replace(/\\n/g, '\\\\n'));`,
    // tfjs passes the main script as a Blob, which cannot be read synchronously: load tfjs's standalone copy of the same Emscripten build.
    'const load = globalThis.importScripts;',
    'globalThis.importScripts = () => load(mainScript);',
  ].join('\n');
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

/** Installs the two loader hooks; returns the function that removes them. */
function hookLoader(files: string[], threads: number): () => void {
  // URL.createObjectURL ignores `this`; the original is put back afterwards.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { createObjectURL } = URL;
  const nodeOs = os as { cpus: typeof os.cpus };
  const { cpus } = nodeOs;
  const worker = workerModule(files);
  // tfjs's locateFile returns createObjectURL(worker Blob) and Emscripten passes it straight to
  // `new Worker()`, which takes a URL object.
  URL.createObjectURL = (blob: Blob) => (blob.type === 'application/javascript' ? (worker as unknown as string) : createObjectURL(blob));
  // init_with_threads_count caps the pool at half of emscripten_num_logical_cores(), os.cpus().length here.
  nodeOs.cpus = () => Array.from({ length: 2 * threads }, () => cpus.call(os)[0]!);
  return () => {
    URL.createObjectURL = createObjectURL;
    nodeOs.cpus = cpus;
  };
}

interface PThreadWorker {
  unref(): void;
  terminate(): Promise<number>;
}

interface EmscriptenModule {
  PThread?: { runningWorkers: PThreadWorker[]; unusedWorkers: PThreadWorker[] };
}

/** The initialised WASM backend's Emscripten module, if any (`tf.findBackend` would start initialising it). */
function initialisedModule(): EmscriptenModule | undefined {
  return (tf.engine().registry['wasm'] as unknown as { wasm: EmscriptenModule } | undefined)?.wasm;
}

/**
 * Brings up the WASM backend (`activate` is `setBackend('wasm')`) with `requested` threads: the threaded
 * SIMD build for more than one, the single-threaded SIMD build for one or when the threaded build is
 * refused or fails to start (with a warning saying why).
 */
export async function activateWasmThreads(wasm: WasmPackage, requested: number, activate: () => Promise<void>): Promise<WasmThreading> {
  const warnings: RunWarning[] = [];
  const report = (): WasmThreading => ({
    threads: wasm.getThreadsCount(),
    patches: initialisedModule()?.PThread ? [WASM_NODE_THREADS_PATCH] : [],
    warnings,
  });
  const singleThreaded = async (): Promise<WasmThreading> => {
    wasm.setThreadsCount(1);
    await activate();
    return report();
  };
  // Initialisation happens once per process: a later call reports what the first one built.
  if (initialisedModule()) {
    await activate();
    return report();
  }
  if (requested <= 1) return singleThreaded();
  const checked = prerequisites(wasm);
  if ('refused' in checked) {
    warnings.push({ code: 'wasm-threads-unavailable', message: `${checked.refused}; running the single-threaded WASM build` });
    return singleThreaded();
  }
  const threads = Math.min(requested, MAX_WASM_THREADS);
  if (threads < requested) {
    warnings.push({
      code: 'wasm-threads-capped',
      message: `${requested} threads requested; the threaded WASM build of tfjs ${PATCHED_FOR_TFJS} runs at most ${MAX_WASM_THREADS}`,
    });
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  const unhook = hookLoader(checked.files, threads);
  const failure = await activate().then(
    () => undefined,
    (error: Error) => error,
  );
  unhook();
  if (failure) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    warnings.push({
      code: 'wasm-threads-unavailable',
      message: `the threaded WASM build failed to start (${failure.message}); running the single-threaded build`,
    });
    return singleThreaded();
  }
  const pthreads = initialisedModule()?.PThread;
  if (pthreads) {
    // Emscripten ref()s each running pthread's worker and XNNPACK's pool threads never exit: unreferenced,
    // they no longer keep Node alive, so a finished run exits.
    for (const worker of pthreads.runningWorkers) worker.unref();
    // The build pre-spawns 8 workers whatever the count and nothing starts a thread after the pool: the idle ones only cost memory (~50 MB).
    for (const worker of pthreads.unusedWorkers.splice(0)) void worker.terminate();
  }
  return report();
}
