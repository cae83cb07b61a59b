import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jobXml } from '../job-xml.js';

export const APP_NAME = 'axiom';

/** WebGPU plan classes, one per GPU vendor (examples/boinc-project/plan_class_spec.xml): the app version ships Dawn for its platform. */
export const WEBGPU_PLAN_CLASSES = ['webgpu_nvidia', 'webgpu_amd', 'webgpu_intel', 'webgpu_apple'] as const;
export type WebgpuPlanClass = (typeof WEBGPU_PLAN_CLASSES)[number];

export interface AppVersionOptions {
  /** Where to build; the app version goes to `<outDir>/apps/axiom/<version>/<platform>[__<plan class>]`. */
  outDir: string;
  platform: string;
  /**
   * `cpu` is BOINC's default (no plan class in the directory name, one CPU); `mt` gets several CPUs
   * (plan_class_spec.xml's `mt`: the worker runs init_data.xml's `ncpus` pool workers, or as many threads
   * for a sweep of one group); `webgpu_<vendor>` and `cuda` a GPU.
   */
  planClass: 'cpu' | 'mt' | 'cuda' | WebgpuPlanClass;
  /** `major.minor`, BOINC's version directory name (version_num = major·100 + minor). */
  version: string;
  /** Writes the worker, bundled into one ESM file, to this path. */
  bundleWorker: (outfile: string) => Promise<void>;
  /**
   * Files the bundle loads from its own directory (the tfjs WASM files, Dawn), each copied under `name`: a
   * physical name that carries its version. With `openName` the client copies the file into the slot under that name.
   */
  siblingFiles: Array<{ source: string; name: string; openName?: string }>;
  /** The Node binary to ship; without it the launcher runs the host's `node`. */
  nodeBinary?: string;
}

export interface AppVersion {
  directory: string;
  /** Physical names, main program first. */
  files: string[];
  /** The `job.xml` for running the same files under BOINC's C++ wrapper, kept outside the version directory. */
  jobXmlPath: string;
}

/**
 * The launcher BOINC executes in the slot. The client execs it by its path in the project directory, so
 * `dirname "$0"` is where the bundle and the WASM files are; no link files to resolve and nothing copied.
 * It always runs `worker`, in wrapped mode when the C++ wrapper passes `--wrapped` (job.xml). The client
 * appends the workunit's and the plan class's arguments (client/app_start.cpp: e.g. `--nthreads 4`, or
 * `--device N` for a GPU app below API 7.5); the worker takes CPUs and GPU from init_data.xml, so the
 * launcher passes none of them on.
 */
function launcherScript(node: string, worker: string): string {
  return [
    '#!/bin/sh',
    'here=$(dirname "$0")',
    'mode=',
    'for arg in "$@"; do [ "$arg" = --wrapped ] && mode=--wrapped; done',
    `exec ${node} "$here/${worker}" worker $mode`,
    '',
  ].join('\n');
}

function versionXml(files: string[], openNames: ReadonlyMap<string, string>): string {
  const entries = files.map((name, index) => {
    const openName = openNames.get(name);
    const copied = openName ? `    <open_name>${openName}</open_name>\n    <copy_file/>\n` : '';
    return `  <file>\n    <physical_name>${name}</physical_name>\n${index === 0 ? '    <main_program/>\n' : ''}${copied}  </file>`;
  });
  return ['<version>', ...entries, '  <api_version>7.20.0</api_version>', '</version>', ''].join('\n');
}

/** Builds an app version directory in BOINC's standard layout, ready for `bin/update_versions`. */
export async function buildAppVersion(options: AppVersionOptions): Promise<AppVersion> {
  if (!/^\d+\.\d+$/.test(options.version)) throw new Error(`app version "${options.version}" is not major.minor (e.g. 1.0)`);
  const planSuffix = options.planClass === 'cpu' ? '' : `__${options.planClass}`;
  const directory = join(options.outDir, 'apps', APP_NAME, options.version, `${options.platform}${planSuffix}`);
  await mkdir(directory, { recursive: true });
  // Physical names are project-wide in BOINC and must never change content, so every one carries a version.
  const launcher = `axiom_launcher_${options.version}${planSuffix}.sh`;
  const worker = `axiom_worker_${options.version}.mjs`;
  const node = options.nodeBinary ? `node_${process.versions.node}` : undefined;
  await options.bundleWorker(join(directory, worker));
  for (const file of options.siblingFiles) await copyFile(file.source, join(directory, file.name));
  if (options.nodeBinary && node) {
    await copyFile(options.nodeBinary, join(directory, node));
    await chmod(join(directory, node), 0o755);
  }
  await writeFile(join(directory, launcher), launcherScript(node ? `"$here/${node}"` : 'node', worker), { mode: 0o755 });
  const files = [launcher, worker, ...options.siblingFiles.map((file) => file.name), ...(node ? [node] : [])];
  const openNames = new Map(options.siblingFiles.flatMap((file) => (file.openName ? [[file.name, file.openName] as const] : [])));
  await writeFile(join(directory, 'version.xml'), versionXml(files, openNames));
  const jobXmlPath = join(options.outDir, 'wrapper', 'job.xml');
  await mkdir(join(options.outDir, 'wrapper'), { recursive: true });
  await writeFile(jobXmlPath, jobXml({ application: launcher }));
  return { directory, files, jobXmlPath };
}
