import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AxiomError } from './errors.js';
import { uint32Schema, workunitSchema, type RunWarning, type SeedSource } from './schemas.js';

/** Everything in `wu.json` except the seed, which is judged on its own so a bad seed can never pass unnoticed. */
export const workunitBodySchema = workunitSchema.omit({ seed: true });
export type WorkunitBody = z.infer<typeof workunitBodySchema>;

/** A `wu.json` as found (the BOINC worker and `axiom run --wu` read it): its body when usable, its seed when valid, and otherwise why not. */
export interface WorkunitFile {
  path: string;
  resolvedPath: string;
  body?: WorkunitBody;
  seed?: number;
  /** Why no seed could be taken from the file; becomes a warning, or an error under `requireSeed`. */
  seedProblem?: RunWarning;
}

export interface SeedRequest {
  /** A seed the host was given explicitly (`--seed`, or `AXIOM_SEED` in the environment). */
  explicit?: { value: number; source: Extract<SeedSource, 'cli' | 'env'> };
  workunit?: WorkunitFile;
  /** Strict mode: every problem that would otherwise be a warning is an error. */
  requireSeed?: boolean;
}

export interface ResolvedSeed {
  value: number;
  source: SeedSource;
  fallbackReason?: string;
  warnings: RunWarning[];
}

/** Order: explicit seed, then `wu.json`, then 4 crypto-random bytes. Every deviation is a named warning. */
export function resolveSeed(request: SeedRequest): ResolvedSeed {
  const warnings: RunWarning[] = [];
  const problem = request.workunit?.seedProblem;
  if (problem) warnings.push(problem);
  if (request.requireSeed && problem) {
    throw new AxiomError('badWorkunit', `--require-seed: ${problem.message} [${problem.code}]`);
  }
  if (request.explicit) return { ...request.explicit, warnings };
  if (request.workunit?.seed !== undefined) return { value: request.workunit.seed, source: 'wu.json', warnings };

  const fallbackReason = problem?.message ?? 'no seed was given (no --seed, no AXIOM_SEED, no wu.json)';
  if (request.requireSeed) throw new AxiomError('badWorkunit', `--require-seed: ${fallbackReason}`);
  const value = randomBytes(4).readUInt32BE(0);
  warnings.push({
    code: 'seed-crypto-fallback',
    message: `${fallbackReason}; using crypto-random seed ${value} (recorded in the result: pass --seed ${value} to repeat)`,
  });
  return { value, source: 'crypto-fallback', fallbackReason, warnings };
}

/** Parses a seed given on a command line or in the environment; a bad one is an error, never a fallback. */
export function parseExplicitSeed(text: string, origin: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  const parsed = uint32Schema.safeParse(value);
  if (!parsed.success) {
    throw new AxiomError('usage', `${origin}: seed must be an unsigned 32-bit integer (0..4294967295), got "${text}"`);
  }
  return parsed.data;
}
