import { z } from 'zod';
import { exitCodeNames } from './errors.js';
import { jsonObjectSchema } from './json.js';
import { backendNameSchema, groupInProgressSchema, uint32Schema, unitResultSchema } from './schemas.js';

/**
 * The messages between a run and its pool workers (`pool.ts`, `pool-worker.ts`), over the IPC channel with
 * V8 serialization (a group's state carries typed arrays). Both sides parse what they receive.
 */

/** What a worker needs to run the same experiment as the parent, and to check that it does. */
export const poolStartSchema = z.strictObject({
  type: z.literal('start'),
  /** A built-in's name, or a local file's `file:` URL: the worker resolves it as the parent did. */
  reference: z.string(),
  version: z.string(),
  preset: z.string().optional(),
  paramLayers: z.array(z.strictObject({ origin: z.string(), values: jsonObjectSchema })),
  /** The digest of the resolved parameters: the worker's must be the parent's. */
  paramsDigest: z.string(),
  seed: uint32Schema,
  deadline: z.number().optional(),
  backend: backendNameSchema,
});
export type PoolStart = z.infer<typeof poolStartSchema>;

export const toPoolWorkerSchema = z.discriminatedUnion('type', [
  poolStartSchema,
  /** Run this group (its `groupOf` key and unit keys), from `resume` when a checkpoint holds it inside training. */
  z.strictObject({ type: z.literal('group'), key: z.string(), units: z.array(z.string()).min(1), resume: groupInProgressSchema.optional() }),
  /** No more groups: end. */
  z.strictObject({ type: z.literal('finish') }),
  /** Send the group's state at the next step (or `null` at the next tick, before its training began). */
  z.strictObject({ type: z.literal('checkpoint') }),
  /** The run stops: save the group's state at the next step and end. */
  z.strictObject({ type: z.literal('stop') }),
  z.strictObject({ type: z.literal('suspend') }),
  z.strictObject({ type: z.literal('resume') }),
]);
export type ToPoolWorker = z.infer<typeof toPoolWorkerSchema>;

/** What a worker has used so far: its CPU seconds and its peak resident memory. */
const usage = { cpuSeconds: z.number().nonnegative(), maxRssBytes: z.number().nonnegative() };

export const fromPoolWorkerSchema = z.discriminatedUnion('type', [
  /** Listening (first), then ready for a group: it is sent the run, then a group or `finish`. */
  z.strictObject({ type: z.literal('ready'), ...usage }),
  z.strictObject({ type: z.literal('progress'), fraction: z.number().min(0).max(1), detail: z.string().optional() }),
  z.strictObject({ type: z.literal('log'), message: z.string() }),
  /** The answer to `checkpoint` (or what a stop saved): the group's state inside training, or null before training. */
  z.strictObject({ type: z.literal('state'), state: groupInProgressSchema.nullable(), ...usage }),
  z.strictObject({ type: z.literal('done'), results: z.array(unitResultSchema), seconds: z.number().nonnegative(), ...usage }),
  /** Ended after a `stop`, its state sent. */
  z.strictObject({ type: z.literal('stopped'), ...usage }),
  /** The experiment (or the worker) failed: the message, and the error kind when it was an AxiomError. */
  z.strictObject({ type: z.literal('failed'), message: z.string(), kind: z.enum(exitCodeNames).optional() }),
]);
export type FromPoolWorker = z.infer<typeof fromPoolWorkerSchema>;
