import * as experiments from '@axiom/experiments';
import * as runner from '@axiom/runner';
import * as zod from 'zod';
import type { WorkerApi } from '@axiom/runner/host';

/** What bundled experiment scripts import from the worker (see WORKER_API_MODULES in the runner). */
export const workerApi: WorkerApi = { '@axiom/runner': runner, '@axiom/experiments': experiments, zod };
