import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import writeFileAtomic from 'write-file-atomic';
import { AxiomError, errorMessage } from './errors.js';
import { experimentFromModule, type Experiment } from './experiment.js';
import { httpRequest, HttpError, defaultHttpPolicy, type HttpPolicy } from './http.js';
import { sha256Hex } from './json.js';
import type { RunWarning, ScriptProvenance } from './schemas.js';

/**
 * Experiments published as single ESM files at URLs. Order of trust: the bytes must match the
 * workunit's sha256 (and, when the project configured a public key, its Ed25519 signature) before
 * anything is written to the cache or imported.
 */
export interface ScriptSource {
  url: string;
  /** Required unless `allowUnverified`. */
  sha256?: string;
  signature?: string;
}

export interface ScriptOptions {
  cacheDir: string;
  /** The project's Ed25519 public key (PEM); when set, every script must carry a valid signature. */
  publicKeyPem?: string;
  /** Run a script that has no sha256 pin: explicit, and recorded in the result. */
  allowUnverified?: boolean;
  http?: HttpPolicy;
  log?(message: string): void;
}

export interface ObtainedScript {
  path: string;
  provenance: ScriptProvenance;
  warnings: RunWarning[];
}

/** The worker's per-user cache: `$XDG_CACHE_HOME/axiom/<name>`, else `~/.cache/axiom/<name>`. */
export function userCacheDir(name: string, env = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'axiom', name);
}

/** `$AXIOM_CACHE_DIR`, else the user cache's `scripts`. */
export function defaultScriptCacheDir(env = process.env): string {
  return env.AXIOM_CACHE_DIR || userCacheDir('scripts', env);
}

export function keyFingerprint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function reject(message: string): AxiomError {
  return new AxiomError('scriptRejected', `${message}; nothing was run`);
}

function checkSignature(source: ScriptSource, bytes: Buffer, options: ScriptOptions): { verification: ScriptProvenance['verification']; signer?: string } {
  if (!options.publicKeyPem) return { verification: 'sha256' };
  let key: KeyObject;
  try {
    key = createPublicKey(options.publicKeyPem);
  } catch (error) {
    throw reject(`the configured public key is not a valid PEM key (${errorMessage(error)})`);
  }
  if (!source.signature) throw reject(`${source.url}: a public key is configured but the workunit carries no signature`);
  if (!verify(null, bytes, key, Buffer.from(source.signature, 'base64'))) {
    throw reject(`${source.url}: the Ed25519 signature does not match the project's key ${keyFingerprint(key)}`);
  }
  return { verification: 'sha256+ed25519', signer: keyFingerprint(key) };
}

async function readCached(path: string, sha256: string): Promise<Buffer | 'missing' | 'corrupt'> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return 'missing';
  }
  return sha256Hex(bytes) === sha256 ? bytes : 'corrupt';
}

/** Verified bytes of a script, from the content-addressed cache when possible, else from its URL. */
export async function obtainScript(source: ScriptSource, options: ScriptOptions): Promise<ObtainedScript> {
  const warnings: RunWarning[] = [];
  if (!source.sha256 && !options.allowUnverified) {
    throw reject(`${source.url}: no sha256 given; pin the script's hash, or pass --allow-unverified to run it anyway`);
  }
  await mkdir(options.cacheDir, { recursive: true });
  const cachedPath = source.sha256 ? join(options.cacheDir, `${source.sha256}.mjs`) : undefined;
  let bytes: Buffer | undefined;
  if (cachedPath) {
    const cached = await readCached(cachedPath, source.sha256!);
    if (cached === 'corrupt') {
      warnings.push({ code: 'script-cache-corrupt', message: `cached ${cachedPath} did not match its sha256; fetching it again` });
      await rm(cachedPath, { force: true });
    } else if (cached !== 'missing') {
      bytes = cached;
    }
  }
  if (!bytes) {
    try {
      bytes = (
        await httpRequest(
          source.url,
          { onRetry: (error, delay) => options.log?.(`${error.message}; retrying in ${Math.round(delay)} ms`) },
          options.http ?? defaultHttpPolicy,
        )
      ).body;
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      throw new AxiomError('scriptUnavailable', `cannot fetch experiment script: ${error.message}; nothing was run`, {
        transient: error.transient,
        cause: error,
      });
    }
  }
  const actual = sha256Hex(bytes);
  if (source.sha256 && actual !== source.sha256) {
    throw reject(`${source.url}: sha256 mismatch: the workunit expects ${source.sha256}, the server sent ${actual} (${bytes.length} bytes)`);
  }
  const { verification, signer } = source.sha256 ? checkSignature(source, bytes, options) : { verification: 'unverified' as const, signer: undefined };
  if (source.signature && !options.publicKeyPem) {
    warnings.push({ code: 'signature-unchecked', message: `${source.url} carries a signature but no public key is configured to check it` });
  }
  if (verification === 'unverified') {
    warnings.push({ code: 'script-unverified', message: `${source.url} was run without a sha256 pin (--allow-unverified); its sha256 is ${actual}` });
  }
  const path = cachedPath ?? join(options.cacheDir, `${actual}.mjs`);
  await writeFileAtomic(path, bytes, { fsync: true });
  return { path, provenance: { url: source.url, sha256: actual, verification, ...(signer && { signer }) }, warnings };
}

/**
 * Imports a verified script from its bytes (a data: URL, so what runs is exactly what was checked, with
 * no file to swap in between); its default export must be an experiment.
 */
export async function importScriptExperiment(bytes: Uint8Array, url: string): Promise<Experiment> {
  let module: unknown;
  try {
    module = await import(`data:text/javascript;base64,${Buffer.from(bytes).toString('base64')}`);
  } catch (error) {
    throw new AxiomError('unknownExperiment', `experiment script ${url} failed to load: ${errorMessage(error)}`);
  }
  return experimentFromModule(module, url);
}

/**
 * Loads an experiment from a local ESM file (.js or .mjs) whose default export is `defineExperiment(...)`.
 * The file's URL and sha256 are recorded, so `axiom reproduce` finds it and notices if it changed.
 */
async function loadExperimentFile(path: string): Promise<ResolvedExperiment> {
  const absolute = resolve(path);
  let bytes: Buffer;
  let module: unknown;
  try {
    bytes = await readFile(absolute);
    module = await import(pathToFileURL(absolute).href);
  } catch (error) {
    throw new AxiomError('unknownExperiment', `cannot load experiment file ${path}: ${errorMessage(error)}`);
  }
  return {
    kind: 'in-process',
    experiment: experimentFromModule(module, path),
    script: { url: pathToFileURL(absolute).href, sha256: sha256Hex(bytes), verification: 'local-file' },
    warnings: [],
  };
}

/** A built-in or a local file, imported here and run in-process (the user's own code), or a fetched script, to run in its sandbox. */
export type ResolvedExperiment =
  | { kind: 'in-process'; experiment: Experiment; script?: ScriptProvenance; warnings: RunWarning[] }
  | { kind: 'fetched'; script: ScriptProvenance; scriptPath: string; warnings: RunWarning[] };

/**
 * Finds the experiment a run names: a built-in by name, a local .mjs/.js file, or a script by URL
 * (a string URL, or `{url, sha256, signature}` from wu.json).
 */
export async function resolveExperiment(
  reference: string | ScriptSource,
  builtins: ReadonlyMap<string, Experiment>,
  scripts: ScriptOptions,
): Promise<ResolvedExperiment> {
  if (typeof reference === 'string' && /^https?:\/\//.test(reference)) return resolveExperiment({ url: reference }, builtins, scripts);
  if (typeof reference !== 'string') {
    const obtained = await obtainScript(reference, scripts);
    return { kind: 'fetched', script: obtained.provenance, scriptPath: obtained.path, warnings: obtained.warnings };
  }
  const builtin = builtins.get(reference);
  if (builtin) return { kind: 'in-process', experiment: builtin, warnings: [] };
  if (reference.startsWith('file:')) return loadExperimentFile(fileURLToPath(reference));
  if (/[\\/]|\.m?js$/.test(reference)) return loadExperimentFile(reference);
  throw new AxiomError(
    'unknownExperiment',
    `unknown experiment "${reference}" (built in: ${[...builtins.keys()].join(', ')}; or a path to an .mjs file, or a URL)`,
  );
}
