import { opendir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AxiomError, canonicalJson, type Result, sha256Hex } from '@axiom/runner/host';
import { type JsonObject } from '@axiom/runner';
import { readResultFile } from './reproduce-command.js';

export interface ResultRecord {
  file: string;
  result: Result;
}

/** A file that is not used, with a message that names it and says why. */
export interface SkippedFile {
  file: string;
  message: string;
}

/** One experiment (name, version, script) at one configuration (every param). */
export interface Configuration {
  experiment: string;
  version: string;
  /** The script's sha256 for experiments run from a file or URL: other code is another experiment. */
  scriptSha256?: string;
  paramsDigest: string;
  params: JsonObject;
  presets: Array<string | null>;
}

/** The results of one configuration. */
export interface ConfigurationGroup extends Configuration {
  records: ResultRecord[];
  /** One record per distinct seed (the first read): the independent replicates. */
  replicates: ResultRecord[];
}

/** A directory walk stops with a usage error past this many entries: `analyze /` must not read the whole disk. */
const MAX_ENTRIES_WALKED = 200_000;
/** Directories that never hold results but can hold a great many files. */
const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git']);

/**
 * Every `*.json` below `path` (sorted), without following symbolic links; `path` itself if it is a
 * file. A subdirectory that cannot be read is noted in `skipped`.
 */
async function resultFilesUnder(path: string, skipped: SkippedFile[], maxEntries: number): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const files: string[] = [];
  const pending = [path];
  let entries = 0;
  for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
    const listing = await opendir(directory).catch((error: NodeJS.ErrnoException) => {
      if (directory === path) throw error;
      skipped.push({ file: directory, message: `${directory}: cannot read (${error.code ?? String(error)})` });
    });
    if (!listing) continue;
    for await (const entry of listing) {
      if (++entries > maxEntries) {
        throw new AxiomError('usage', `${path}: more than ${maxEntries} entries below it; give the directory that holds the results`);
      }
      const child = join(directory, entry.name);
      if (entry.isDirectory() && !SKIPPED_DIRECTORIES.has(entry.name)) pending.push(child);
      else if (entry.isFile() && entry.name.endsWith('.json')) files.push(child);
    }
  }
  return files.sort();
}

/** Reads result files and directories (every `*.json` below them); whatever is not a complete result is skipped with a reason. */
export async function loadResults(paths: readonly string[], maxEntries = MAX_ENTRIES_WALKED): Promise<{ records: ResultRecord[]; skipped: SkippedFile[] }> {
  const records: ResultRecord[] = [];
  const skipped: SkippedFile[] = [];
  const files: string[] = [];
  for (const path of paths) {
    try {
      files.push(...(await resultFilesUnder(path, skipped, maxEntries)));
    } catch (error) {
      if (error instanceof AxiomError) throw error;
      skipped.push({ file: path, message: `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
    }
  }
  const firstFileById = new Map<string, string>();
  for (const file of new Set(files.map((file) => resolve(file)))) {
    let result: Result;
    try {
      result = await readResultFile(file);
    } catch (error) {
      if (!(error instanceof AxiomError)) throw error;
      skipped.push({ file, message: error.message });
      continue;
    }
    const copyOf = firstFileById.get(result.resultId);
    if (copyOf) {
      skipped.push({ file, message: `${file} holds the same result as ${copyOf} (same resultId): counted once` });
    } else if (result.status !== 'ok') {
      skipped.push({
        file,
        message: `${file} is ${result.status}${result.statusReason ? ` (${result.statusReason})` : ''}: only complete results are compared`,
      });
    } else {
      firstFileById.set(result.resultId, file);
      records.push({ file, result });
    }
  }
  return { records, skipped };
}

/** Groups by experiment name, version, script and the digest of all params; sorted by those. */
export function groupByConfiguration(records: readonly ResultRecord[]): ConfigurationGroup[] {
  const groups = new Map<string, ConfigurationGroup>();
  for (const record of records) {
    const { experiment, params, preset, seed } = record.result;
    const paramsDigest = sha256Hex(canonicalJson(params));
    const scriptSha256 = experiment.script?.sha256;
    const key = canonicalJson([experiment.name, experiment.version, scriptSha256 ?? null, paramsDigest]);
    let group = groups.get(key);
    if (!group) {
      group = { experiment: experiment.name, version: experiment.version, scriptSha256, paramsDigest, params, presets: [], records: [], replicates: [] };
      groups.set(key, group);
    }
    group.records.push(record);
    if (!group.presets.includes(preset)) group.presets.push(preset);
    if (!group.replicates.some((replicate) => replicate.result.seed.value === seed.value)) group.replicates.push(record);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, group]) => group);
}

export function describeGroup(group: Configuration): string {
  return `${group.experiment} ${group.version}${group.scriptSha256 ? ` (script ${group.scriptSha256.slice(0, 12)})` : ''}, params ${group.paramsDigest.slice(0, 12)}`;
}
