/**
 * Every way a run can end, with the process exit code a host uses for it.
 * Codes are distinct so a script or a BOINC project can tell causes apart without reading stderr.
 */
export const ExitCode = {
  ok: 0,
  /** A bug: an error nobody anticipated. The message and stack go to stderr. */
  internal: 1,
  /** The command line itself is wrong (unknown option, missing argument). */
  usage: 2,
  /** Parameters fail the experiment's schema or name an unknown field. */
  badParams: 3,
  /** No built-in experiment has that name. */
  unknownExperiment: 4,
  /** The workunit file is unusable, or `--require-seed` found no trustworthy seed. */
  badWorkunit: 5,
  /** The result cannot be written where it was asked to go. */
  outputUnwritable: 6,
  /** The checkpoint exists but cannot be read, or belongs to another run. */
  badCheckpoint: 7,
  /** A forced backend cannot load, or no backend at all can. */
  backendUnavailable: 8,
  /** The experiment itself threw; a `failed` result was written. */
  experimentFailed: 9,
  /** The deadline passed; a `partial` result was written. */
  deadlineReached: 10,
  /** A fetched script failed its sha256 or signature check, or is unverified without --allow-unverified. Nothing was run. */
  scriptRejected: 11,
  /** A script could not be fetched (after retries, for transient causes). Nothing was run. */
  scriptUnavailable: 12,
  /** A re-run did not reproduce: the digest differs from the expected one (reproduce, --expect-digest, golden check). */
  notReproduced: 13,
  /** `axiom upload --flush`: results remain in the spool (refused, or the server is still unreachable). */
  uploadIncomplete: 14,
  /** A fetched script tried what its sandbox forbids (files outside it, processes, the network): stopped, nothing kept. */
  sandboxViolation: 15,
  /** Interrupted (Ctrl-C / SIGTERM); a `partial` result was written. 128 + SIGINT, as shells expect. */
  interrupted: 130,
} as const;

export type ExitCodeName = keyof typeof ExitCode;
export const exitCodeNames = Object.keys(ExitCode) as [ExitCodeName, ...ExitCodeName[]];

/** An error the user can act on: a one-line message and the exit code that names its cause. */
export class AxiomError extends Error {
  readonly kind: ExitCodeName;
  /** True when the same run may succeed later (network down): BOINC hosts exit temporarily instead of failing. */
  readonly transient: boolean;

  constructor(kind: ExitCodeName, message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(message, options);
    this.name = 'AxiomError';
    this.kind = kind;
    this.transient = options?.transient ?? false;
  }

  get exitCode(): number {
    return ExitCode[this.kind];
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
