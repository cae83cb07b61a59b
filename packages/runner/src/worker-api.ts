/**
 * Bundled experiment scripts do not carry the worker's libraries: `axiom bundle` turns their imports of
 * these modules into reads of one global that the worker sets before it loads any experiment. The
 * script then shares the worker's runner, shared pieces and zod (schemas compare by identity), and a
 * script works the same under `axiom run`, in a BOINC slot, or from the cache, with no node_modules.
 */
export const WORKER_API_KEY = Symbol.for('axiom.worker-api.v1');
export const WORKER_API_MODULES = ['@axiom/runner', '@axiom/experiments', 'zod'] as const;
export type WorkerApiModule = (typeof WORKER_API_MODULES)[number];
export type WorkerApi = Record<WorkerApiModule, Record<string, unknown>>;

export function installWorkerApi(api: WorkerApi): void {
  (globalThis as Record<symbol, unknown>)[WORKER_API_KEY] = api;
}
