import { serialize } from 'node:v8';
import { z } from 'zod';
import { ExitCode, exitCodeNames } from './errors.js';
import { resultDigest } from './run.js';
import { canonicalJson } from './json.js';
import { checkpointSchema, resultSchema, type Result, type SandboxRecord } from './schemas.js';

/**
 * What the sandboxed child may send its parent. The child runs fetched code, which can call
 * `process.send` itself: every message is untrusted input, so it is size-checked, rate-checked and
 * parsed here before the parent acts on it.
 */

/** What each host call carries: the parent parses the argument with its method's schema. */
export const hostCallArguments = {
  'checkpoints.load': z.undefined(),
  'checkpoints.save': checkpointSchema,
  'checkpoints.clear': z.undefined(),
  'sink.prepare': z.undefined(),
  'sink.write': resultSchema,
  whenRunnable: z.undefined(),
} as const;
export type HostCall = keyof typeof hostCallArguments;
const hostCalls = Object.keys(hostCallArguments) as [HostCall, ...HostCall[]];

export const fromSandboxSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('call'), id: z.number().int().nonnegative(), method: z.enum(hostCalls), argument: z.unknown().optional() }),
  z.strictObject({
    type: z.literal('progress'),
    update: z.strictObject({
      fraction: z.number().min(0).max(1),
      unitsDone: z.number().int().nonnegative(),
      unitsTotal: z.number().int().nonnegative(),
      unit: z.string().optional(),
      detail: z.string().optional(),
    }),
  }),
  z.strictObject({ type: z.literal('log'), message: z.string() }),
  z.strictObject({ type: z.literal('warn'), warning: z.strictObject({ code: z.string(), message: z.string() }) }),
  z.strictObject({ type: z.literal('violation'), violation: z.strictObject({ permission: z.string(), resource: z.string() }) }),
  // The result itself travels in the `sink.write` call, where the parent validates and keeps it.
  z.strictObject({ type: z.literal('done'), exitCode: z.number().int() }),
  z.strictObject({ type: z.literal('failed'), kind: z.enum(exitCodeNames).optional(), message: z.string(), transient: z.boolean() }),
]);
export type FromSandbox = z.infer<typeof fromSandboxSchema>;

/** Results and checkpoints carry a run's units and curves; every other message is a line or a number. */
export const MESSAGE_BYTE_LIMITS = { data: 64 * 1024 * 1024, other: 64 * 1024 } as const;

/** Why a message is bigger than its kind may be, measured as V8 serializes it (the IPC channel's `advanced` serialization). */
export function oversizedMessage(message: unknown): string | undefined {
  const fields = (typeof message === 'object' && message !== null ? message : {}) as { type?: unknown; method?: unknown };
  const carriesData = fields.type === 'call' && (fields.method === 'sink.write' || fields.method === 'checkpoints.save');
  const limit = carriesData ? MESSAGE_BYTE_LIMITS.data : MESSAGE_BYTE_LIMITS.other;
  const bytes = serialize(message).byteLength;
  return bytes > limit ? `a message of ${bytes} bytes (at most ${limit} for ${carriesData ? `${String(fields.method)}` : 'this kind'})` : undefined;
}

/**
 * A token bucket over messages: `burst` at once, refilled at `perSecond`. An honest run sends a few
 * messages per unit and throttles its progress, so only a flood empties it.
 */
export class MessageRateLimit {
  private tokens: number;
  private last: number;

  constructor(
    readonly burst = 1000,
    readonly perSecond = 200,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/** The exit code a run gives with each status (see runExperiment): a child may not claim success for a failed run. */
const exitCodesOf: Record<Result['status'], number[]> = {
  ok: [ExitCode.ok],
  partial: [ExitCode.deadlineReached, ExitCode.interrupted],
  failed: [ExitCode.experimentFailed],
};
export function exitCodeMismatch(result: Result, exitCode: number): string | undefined {
  return exitCodesOf[result.status].includes(exitCode) ? undefined : `exit code ${exitCode} for a result with status ${result.status}`;
}

/** What the parent knows of the run independently of the child: the result must agree with it. */
export interface ExpectedRun {
  seed: number;
  scriptSha256: string;
  sandbox: SandboxRecord;
}

/** Checks a result from the sandbox as any untrusted result is checked: its digest must match its content, and it must be this run's. */
export function untrustedResultDefect(result: Result, expected: ExpectedRun): string | undefined {
  if (resultDigest(result.metrics, result.units) !== result.digest) return 'its digest does not match its metrics and units';
  if (result.seed.value !== expected.seed) return `its seed ${result.seed.value} is not the run's ${expected.seed}`;
  if (result.experiment.script?.sha256 !== expected.scriptSha256)
    return `its script ${result.experiment.script?.sha256 ?? '(none)'} is not the verified ${expected.scriptSha256}`;
  if (canonicalJson(result.sandbox ?? null) !== canonicalJson(expected.sandbox)) return 'its sandbox record is not the one the sandbox ran under';
  return undefined;
}
