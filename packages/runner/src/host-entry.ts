/**
 * `@axiom/runner/host`: what a host needs to run experiments (the CLI, the BOINC worker, the project's
 * tools): running and resolving experiments, the host interface and its file-backed stores, seeds,
 * checkpoints and results, comparisons, backends, scripts and their sandbox, uploads, errors and exit
 * codes. Experiment authors use `@axiom/runner`.
 */
export { backendLoaders, type BackendRequest, initBackend } from './backend.js';
export { decodeCheckpoint, fileCheckpointStore } from './checkpoint-file.js';
export { BIT_IDENTICAL, compareResults, describeComparison, describeTolerance, headlinePaths, valueAt } from './compare.js';
export { AxiomError, errorMessage, ExitCode } from './errors.js';
export { fileResultSink } from './file-host.js';
export { writeJsonAtomic, writeJsonAtomicOrExplain } from './files.js';
export { type CheckpointStore, type ProgressUpdate, type ResultSink, type SelfLauncher } from './host.js';
export { WORKER_VERSION } from './host-info.js';
export { hostKernelsForAppVersion } from './host-kernels.js';
export { defaultHttpPolicy, type HttpPolicy, type HttpRequestOptions } from './http.js';
export { canonicalJson, jsonObjectSchema, sha256Hex } from './json.js';
export { memoryHost } from './memory-host.js';
export { poolSize, WORKER_MEMORY_BUDGET_BYTES } from './pool.js';
export { servePoolWorker } from './pool-worker.js';
export { describeZodError, type ParamLayer, resolveParams } from './params.js';
export { resultDigest, runExperiment, type RunOutcome, type RunRequest } from './run.js';
export { runResolved, serveSandboxedRun } from './sandbox.js';
export {
  type BackendName,
  backendNames,
  backendNameSchema,
  type Checkpoint,
  checkpointSchema,
  type GpuAdapterInfo,
  type GpuAssignment,
  type Result,
  resultSchema,
  type RunWarning,
  scriptRefSchema,
  sha256HexSchema,
  uint32Schema,
  type Workunit,
  workunitSchema,
} from './schemas.js';
export { defaultScriptCacheDir, type ResolvedExperiment, resolveExperiment, type ScriptOptions, userCacheDir } from './script.js';
export { networkFlops, stackSeconds, stacksAsTrained, stacksOf, stackSteps, weightsOf } from './work.js';
export { parseExplicitSeed, type ResolvedSeed, resolveSeed, workunitBodySchema, type WorkunitFile } from './seed.js';
export { flushSpool, uploadOrSpoolResult } from './upload.js';
export { shippedWasmFileName, WASM_BINARIES, WASM_THREADS_SCRIPTS, wasmPackageFile } from './wasm-files.js';
export { WASM_NODE_THREADS_PATCH } from './wasm-threads.js';
export { chooseAdapter, dawnPackageFiles, digestScope, listAdapters, WEBGPU_PACKAGE_VERSION } from './webgpu.js';
export { installWorkerApi, WORKER_API_KEY, WORKER_API_MODULES, type WorkerApi, type WorkerApiModule } from './worker-api.js';
