import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxiomError, errorMessage } from './errors.js';
import { sha256Hex } from './json.js';
import type { RunWarning } from './schemas.js';

/**
 * The host kernels: native/host-kernels.c, the stacked dense layers' products in this CPU's machine code
 * (AVX-512 or AVX2 where the CPU has them), built into a Node-API addon by `npm run build` where a C compiler is. They work on
 * tensors in the WASM backend's memory, as our WASM kernels do, and give the same bits (tested): a result's
 * digest does not depend on whether they ran. Each function takes the memory as a Uint8Array, then the byte
 * addresses and sizes the WASM kernel of the same name takes (without its scratch), and checks that every operand
 * lies inside the memory.
 */
export interface HostProducts {
  /** The instruction set they run in: `avx512`, `avx2`, or `baseline` (the architecture's own 4-float vectors). */
  instructions: string;
  denseForward(memory: Uint8Array, ...args: number[]): void;
  denseBackpropInput(memory: Uint8Array, ...args: number[]): void;
  denseBackpropFilter(memory: Uint8Array, ...args: number[]): void;
}

/** The widest instruction set's products, and every one this CPU runs (widest first), by name. */
export interface HostKernels extends HostProducts {
  variants: Record<string, HostProducts>;
}

const HOST_KERNELS_FILE = 'axiom-host-kernels.node';

/**
 * `AXIOM_HOST_KERNELS=off` keeps the layers in WASM (to compare the two; the results are the same). Unset or `on`:
 * the host kernels where they load.
 */
export function hostKernelsWanted(env: NodeJS.ProcessEnv): boolean {
  const value = env.AXIOM_HOST_KERNELS ?? '';
  if (!['', 'on', 'off'].includes(value)) throw new AxiomError('usage', `AXIOM_HOST_KERNELS must be "on" or "off", got "${value}"`);
  return value !== 'off';
}

export type HostKernelsState =
  | { loaded: true; kernels: HostKernels }
  /** `warning` when something is wrong (the addon is there but does not load); none when it was not built, is turned off, or the sandbox refuses addons. */
  | { loaded: false; why: string; warning?: RunWarning };

/** Set in a BOINC app version's bundle (`axiom boinc app-version`, by esbuild's define): the name the addon ships under beside it. */
declare const AXIOM_SHIPPED_HOST_KERNELS: string | undefined;

/** The addon `npm run build` makes: in dist/, beside this module or beside src/ when this module runs from its source (the tests). */
export function builtHostKernelsPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, HOST_KERNELS_FILE);
  return existsSync(beside) ? beside : join(here, '..', 'dist', HOST_KERNELS_FILE);
}

function addonPath(): string {
  if (typeof AXIOM_SHIPPED_HOST_KERNELS === 'string') return join(dirname(fileURLToPath(import.meta.url)), AXIOM_SHIPPED_HOST_KERNELS);
  return builtHostKernelsPath();
}

/** BOINC platform → the Node platform and architecture whose addon it runs (the host kernels build for these). */
const HOST_KERNELS_PLATFORMS: Record<string, string> = {
  'x86_64-pc-linux-gnu': 'linux-x64',
  'aarch64-unknown-linux-gnu': 'linux-arm64',
  'x86_64-apple-darwin': 'darwin-x64',
  'arm64-apple-darwin': 'darwin-arm64',
};

/**
 * The addon an app version for BOINC `platform` ships, under a physical name that carries its content's hash (a
 * BOINC physical name never changes content), or why it ships none: only the addon built here, for this machine's
 * platform, can be shipped. Without it the app version's layers run in WASM, with the same results.
 */
export function hostKernelsForAppVersion(platform: string): { source: string; name: string } | { missing: string } {
  const here = `${process.platform}-${process.arch}`;
  if (HOST_KERNELS_PLATFORMS[platform] !== here) return { missing: `they are built for this machine (${here}), not for ${platform}` };
  const source = builtHostKernelsPath();
  if (!existsSync(source)) return { missing: `${source} was not built (npm run build, with a C compiler)` };
  return { source, name: `axiom-host-kernels_${sha256Hex(readFileSync(source)).slice(0, 16)}.node` };
}

let state: HostKernelsState | undefined;

/** Loads the host kernels once per process and says whether they run, and if not why. */
export function loadHostKernels(env = process.env): HostKernelsState {
  if (state) return state;
  const path = addonPath();
  if (!hostKernelsWanted(env)) state = { loaded: false, why: 'AXIOM_HOST_KERNELS=off' };
  else if (!existsSync(path)) state = { loaded: false, why: `not built (${path})` };
  else {
    try {
      state = { loaded: true, kernels: createRequire(import.meta.url)(path) as HostKernels };
    } catch (error) {
      const why = errorMessage(error);
      // A fetched script's sandbox (Node's permission model) refuses every addon: by design, not a fault.
      const refused = (error as { code?: string }).code === 'ERR_DLOPEN_DISABLED' || (error as { code?: string }).code === 'ERR_ACCESS_DENIED';
      state = refused
        ? { loaded: false, why: `refused by the permission model (${why})` }
        : { loaded: false, why, warning: { code: 'host-kernels-unavailable', message: `${path} did not load (${why}); the dense layers run in WASM` } };
    }
  }
  return state;
}

/** The loaded host kernels, or undefined (the WASM kernels then serve). */
export function hostKernels(): HostKernels | undefined {
  const loaded = loadHostKernels();
  return loaded.loaded ? loaded.kernels : undefined;
}
