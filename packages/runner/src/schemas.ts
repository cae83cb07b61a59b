import { z } from 'zod';
import { jsonObjectSchema } from './json.js';

/** The one definition of every file format the worker reads or writes. Types are inferred from these. */

export const uint32Schema = z.number().int().min(0).max(0xffff_ffff);

export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (SHA-256)');

export const experimentNameSchema = z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a kebab-case experiment name such as "memorization-dynamics"');

export const scriptRefSchema = z.strictObject({
  url: z.string().url(),
  sha256: sha256HexSchema,
  /** Base64 Ed25519 signature over the script's bytes, checked against the project's public key. */
  signature: z.string().base64().optional(),
});
export type ScriptRef = z.infer<typeof scriptRefSchema>;

/** Where a fetched experiment came from and how it was checked, as recorded in the result. */
export const scriptProvenanceSchema = z.strictObject({
  url: z.string().url(),
  sha256: sha256HexSchema,
  /** `local-file`: a file given on the command line, run as the user's own code. */
  verification: z.enum(['sha256', 'sha256+ed25519', 'unverified', 'local-file']),
  /** Fingerprint of the public key that verified the signature: first 16 hex digits of SHA-256(SPKI DER). */
  signer: z.string().optional(),
});
export type ScriptProvenance = z.infer<typeof scriptProvenanceSchema>;

/** `wu.json`: what a workunit asks the worker to compute. */
export const workunitSchema = z.strictObject({
  experiment: z.union([experimentNameSchema, scriptRefSchema]),
  seed: uint32Schema,
  preset: z.string().optional(),
  params: jsonObjectSchema.optional(),
  replicate: z.number().int().min(0).optional(),
  deadlineSeconds: z.number().positive().optional(),
});
export type Workunit = z.infer<typeof workunitSchema>;

export const seedSources = ['cli', 'env', 'wu.json', 'crypto-fallback'] as const;
export const seedSourceSchema = z.enum(seedSources);
export type SeedSource = z.infer<typeof seedSourceSchema>;

export const warningSchema = z.strictObject({ code: z.string(), message: z.string() });
export type RunWarning = z.infer<typeof warningSchema>;

export const backendNames = ['webgpu', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export const backendNameSchema = z.enum(backendNames);
export type BackendName = z.infer<typeof backendNameSchema>;

/** A WebGPU adapter as Dawn describes it. */
export const gpuAdapterInfoSchema = z.strictObject({
  /** Position in Dawn's list, the N of `--gpu N`. */
  index: z.number().int().nonnegative(),
  /** The device's name as the driver gives it. */
  name: z.string(),
  vendor: z.string(),
  architecture: z.string(),
  device: z.string(),
  description: z.string(),
  driver: z.string(),
  /** A software rasteriser (Dawn's fallback/CPU adapter type, e.g. lavapipe): never chosen unless asked for. */
  software: z.boolean(),
});
export type GpuAdapterInfo = z.infer<typeof gpuAdapterInfoSchema>;

/** Which GPU a run was given: by the BOINC client (init_data.xml) or on the command line (`--gpu N`). */
export const gpuAssignmentSchema = z.strictObject({
  source: z.enum(['boinc', 'cli']),
  /** BOINC's gpu_type: NVIDIA, ATI, intel_gpu, apple_gpu. */
  type: z.string().optional(),
  /** BOINC's gpu_device_num (or OpenCL device index), or the adapter index given to `--gpu`; absent: any hardware adapter. */
  device: z.number().int().nonnegative().optional(),
  /** The device's name from the client's coprocessor description. */
  name: z.string().optional(),
});
export type GpuAssignment = z.infer<typeof gpuAssignmentSchema>;

export const gpuRecordSchema = z.strictObject({
  adapter: gpuAdapterInfoSchema,
  /** The device limits the backend asked for (tfjs-backend-webgpu's required limits at the adapter's values). */
  limits: z.record(z.string(), z.number()),
  /** Why this adapter: named by index, matched to BOINC's assignment, or the first hardware adapter. */
  selection: z.string(),
});
export type GpuRecord = z.infer<typeof gpuRecordSchema>;

export const backendInfoSchema = z.strictObject({
  name: backendNameSchema,
  tfjsVersion: z.string(),
  threads: z.number().int().positive(),
  simd: z.boolean(),
  /** Why each better backend was not used, in preference order. */
  skipped: z.array(z.strictObject({ name: backendNameSchema, reason: z.string() })),
  /** Changes the worker made to the backend's stock kernels (they alter speed, never results beyond float rounding). */
  patches: z.array(z.string()),
  /** The GPU the webgpu backend runs on. Digests are per backend and adapter: GPUs round differently. */
  gpu: gpuRecordSchema.optional(),
});
export type BackendInfo = z.infer<typeof backendInfoSchema>;

export const hostInfoSchema = z.strictObject({
  os: z.string(),
  arch: z.string(),
  cpuModel: z.string(),
  cores: z.number().int().nonnegative(),
  memoryBytes: z.number().nonnegative(),
  nodeVersion: z.string(),
});
export type HostInfo = z.infer<typeof hostInfoSchema>;

/** One independent piece of a sweep (a configuration or replicate), with its own derived seed. */
export const unitResultSchema = z.strictObject({
  key: z.string(),
  seed: uint32Schema,
  config: jsonObjectSchema,
  metrics: jsonObjectSchema,
  curves: jsonObjectSchema,
});
export type UnitResult = z.infer<typeof unitResultSchema>;

export const resultStatusSchema = z.enum(['ok', 'partial', 'failed']);
export type ResultStatus = z.infer<typeof resultStatusSchema>;

export const RESULT_SCHEMA_VERSION = 1;

/** How a fetched script was contained: what its process could read and reach (see docs/security.md). */
export const sandboxRecordSchema = z.strictObject({
  /** Node's permission model, with the flags the script's process ran under. */
  permissions: z.array(z.string()),
  /** Paths the script's process may read; it may write none. */
  fsRead: z.array(z.string()),
  /** `namespace`: a network namespace with no interfaces (Linux); `guard`: only the in-process guard. */
  network: z.enum(['namespace', 'guard']),
});
export type SandboxRecord = z.infer<typeof sandboxRecordSchema>;

export const resultSchema = z.strictObject({
  schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
  resultId: z.string().uuid(),
  experiment: z.strictObject({
    name: experimentNameSchema,
    version: z.string(),
    script: scriptProvenanceSchema.optional(),
  }),
  workunit: z.strictObject({ replicate: z.number().int().min(0).optional() }).optional(),
  seed: z.strictObject({
    value: uint32Schema,
    source: seedSourceSchema,
    /** Set whenever the seed did not come from where it was expected: why the fallback happened. */
    fallbackReason: z.string().optional(),
  }),
  preset: z.string().nullable(),
  params: jsonObjectSchema,
  status: resultStatusSchema,
  /** Why the status is not `ok`: interrupted, deadline, or the experiment's error. */
  statusReason: z.string().optional(),
  metrics: jsonObjectSchema,
  units: z.array(unitResultSchema),
  /** SHA-256 of the canonical JSON of `{metrics, units}`: equal digests mean bit-identical computations. */
  digest: sha256HexSchema,
  backend: backendInfoSchema,
  host: hostInfoSchema,
  timings: z.strictObject({
    startedAt: z.string().datetime(),
    finishedAt: z.string().datetime(),
    wallSeconds: z.number().nonnegative(),
    cpuSeconds: z.number().nonnegative(),
    phases: z.record(z.string(), z.number().nonnegative()),
    units: z.record(z.string(), z.number().nonnegative()),
    /** Times the run was resumed from a checkpoint; wall and CPU seconds then cover every process that worked on it. */
    resumes: z.number().int().nonnegative().optional(),
    /** Worker processes that trained the sweep's groups side by side (absent: the run's own process did). */
    workers: z.number().int().positive().optional(),
  }),
  warnings: z.array(warningSchema),
  /** Present when the experiment ran in a sandbox (fetched scripts always do). */
  sandbox: sandboxRecordSchema.optional(),
  worker: z.strictObject({ version: z.string() }),
});
export type Result = z.infer<typeof resultSchema>;

/**
 * Saved training state: JSON-like values (numbers may be non-finite) and typed arrays for tensors and
 * per-example records, nested in arrays and plain objects. Checkpoint files store it in binary.
 */
export type Snapshot = null | boolean | number | string | Float32Array | Float64Array | Int32Array | Uint8Array | Snapshot[] | { [key: string]: Snapshot };
export const snapshotSchema: z.ZodType<Snapshot> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.custom<number>((value) => typeof value === 'number', 'expected a number'), // Infinity and NaN too
    z.string(),
    z.instanceof(Float32Array),
    z.instanceof(Float64Array),
    z.instanceof(Int32Array),
    z.instanceof(Uint8Array),
    z.array(snapshotSchema),
    z.record(z.string(), snapshotSchema),
  ]),
);

export const rngStateSchema = z.strictObject({
  alea: z.strictObject({ c: z.number(), s0: z.number(), s1: z.number(), s2: z.number() }),
  draws: z.number().int().nonnegative(),
  spareNormal: z.number().nullable(),
});

/** A sweep group caught in the middle of training: enough to continue it exactly. */
export const groupInProgressSchema = z.strictObject({
  /** The group's unit keys, in order: a restart resumes only the same group. */
  units: z.array(z.string()).min(1),
  /** Which of the group's training loops was running (0 for the first). */
  phase: z.number().int().nonnegative(),
  /** Wall seconds the group had run, over every process that worked on it. */
  seconds: z.number().nonnegative(),
  /** Every random stream the group had made before training began, in the order it made them. */
  streams: z.array(z.strictObject({ labels: z.array(z.union([z.string(), z.number()])), state: rngStateSchema })),
  /** The experiment's own records (curves so far, per-example trackers), by name. */
  records: z.record(z.string(), snapshotSchema),
  /** The training loop's state: position, weights, optimizer state. */
  training: snapshotSchema,
});
export type GroupInProgress = z.infer<typeof groupInProgressSchema>;

/** What the runner keeps between restarts: every finished unit, and every group in training. */
/**
 * 3 added training in progress and stores files in binary; 4 holds every group in training (a pool trains
 * several side by side). Older checkpoints are refused as from another format version.
 */
export const CHECKPOINT_FORMAT_VERSION = 4;
export const checkpointSchema = z.strictObject({
  formatVersion: z.literal(CHECKPOINT_FORMAT_VERSION),
  experiment: z.string(),
  experimentVersion: z.string(),
  seed: uint32Schema,
  /** Digest of the params, so a checkpoint is never applied to a different configuration. */
  paramsDigest: sha256HexSchema,
  units: z.array(unitResultSchema),
  unitSeconds: z.record(z.string(), z.number().nonnegative()),
  /** Fraction of the run done when it was taken: progress after a restart starts here. */
  fractionDone: z.number().min(0).max(1),
  /** Wall and CPU seconds the run had used, over every process that worked on it. */
  wallSeconds: z.number().nonnegative(),
  cpuSeconds: z.number().nonnegative(),
  /** How many times the run had been resumed before. */
  resumes: z.number().int().nonnegative(),
  /** Every sweep group caught inside its training (one per pool worker at most), each resumed where it was. */
  inProgress: z.array(groupInProgressSchema),
});
export type Checkpoint = z.infer<typeof checkpointSchema>;
