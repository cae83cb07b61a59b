import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxiomError } from './errors.js';
import type { BackendInfo, GpuAdapterInfo, GpuAssignment, GpuRecord } from './schemas.js';

/**
 * WebGPU through Dawn (the `webgpu` package): listing the host's adapters and choosing the one a run
 * may use. Dawn's JS adapter info carries no PCI ids, so BOINC's device is matched by vendor and name.
 */

type DawnModule = typeof import('webgpu');

/**
 * What a digest is reproducible on: the backend, and for WebGPU the adapter and its driver, since GPUs (and
 * driver versions) round differently. Results in one scope have equal digests; across scopes, close values.
 */
export function digestScope(backend: BackendInfo): string {
  const adapter = backend.gpu?.adapter;
  return adapter ? `${backend.name} on ${adapter.vendor} ${adapter.device} (${adapter.driver})` : backend.name;
}

/** BOINC's `gpu_type` (lib/common_defs.h, proc_type_name_xml) → the vendor Dawn reports. */
const VENDOR_OF_BOINC_TYPE: Record<string, string[]> = {
  NVIDIA: ['nvidia'],
  ATI: ['amd', 'ati'],
  intel_gpu: ['intel'],
  apple_gpu: ['apple'],
};

export interface ListedAdapter {
  /** Dawn's raw device name, as its `adapter=` flag selects it. */
  flagName: string;
  info: GpuAdapterInfo;
  adapter: GPUAdapter;
  gpu: GPU;
}

/** The `webgpu` package this worker is built and tested with (package.json pins it; a test checks they agree). */
export const WEBGPU_PACKAGE_VERSION = '0.6.2';

/** BOINC platform → the directory of the `webgpu` package's prebuilt Dawn for it. */
export const DAWN_PLATFORM_DIRECTORIES: Record<string, string> = {
  'x86_64-pc-linux-gnu': 'linux-x64',
  'aarch64-unknown-linux-gnu': 'linux-arm64',
  windows_x86_64: 'win32-x64',
  windows_arm64: 'win32-arm64',
  'x86_64-apple-darwin': 'darwin-universal',
  'arm64-apple-darwin': 'darwin-universal',
};

/** A physical name in a BOINC project never changes content, so each shipped Dawn file carries the package version. */
export function shippedDawnFileName(file: string): string {
  return `webgpu${WEBGPU_PACKAGE_VERSION}_${file}`;
}

/**
 * The Dawn files an app version for `platform` ships: `dawn.node`, and on Windows the DirectX shader
 * compilers it loads, which must sit in the slot under their own names (BOINC copies them there).
 */
export function dawnPackageFiles(platform: string): Array<{ source: string; name: string; openName?: string }> {
  const directory = DAWN_PLATFORM_DIRECTORIES[platform];
  if (!directory) throw new Error(`no prebuilt Dawn for BOINC platform "${platform}" (known: ${Object.keys(DAWN_PLATFORM_DIRECTORIES).join(', ')})`);
  const root = join(dirname(createRequire(import.meta.url).resolve('webgpu')), 'dist', directory);
  return readdirSync(root)
    .filter((file) => file.endsWith('.node') || file.endsWith('.dll'))
    .sort()
    .map((file) => ({ source: join(root, file), name: shippedDawnFileName(file), ...(file.endsWith('.dll') ? { openName: file } : {}) }));
}

async function loadDawn(): Promise<DawnModule> {
  // In a BOINC app version the bundle has no node_modules: Dawn's binding ships beside it.
  const shipped = join(dirname(fileURLToPath(import.meta.url)), shippedDawnFileName('dawn.node'));
  if (existsSync(shipped)) return createRequire(import.meta.url)(shipped) as DawnModule;
  try {
    return await import('webgpu');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ERR_MODULE_NOT_FOUND'
        ? 'the webgpu package is not installed'
        : `the webgpu package (Dawn) does not load on this platform: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** On Windows Dawn loads the shader compilers from `dlldir`: the slot, where BOINC copies them. */
const DAWN_FLAGS = process.platform === 'win32' ? [`dlldir=${process.cwd()}`] : [];

/** Dawn lists every adapter only in the error for an adapter name that matches none (src/dawn/node/binding/GPU.cpp). */
async function adapterFlagNames(dawn: DawnModule): Promise<string[]> {
  const outcome = await dawn
    .create([...DAWN_FLAGS, 'adapter=\u0001axiom-list-adapters'])
    .requestAdapter()
    .then(
      () => undefined,
      (error: unknown) => String((error as Error).message ?? error),
    );
  if (outcome === undefined) return [];
  return [...outcome.matchAll(/^ \* backend: '[^']*', name: '(.*)'$/gm)].map((match) => match[1]!);
}

/**
 * On Vulkan Dawn's description is the driver's name, a colon, and its version ("llvmpipe: Mesa 25.0.7 …");
 * elsewhere it is the whole description.
 */
function driverOf(description: string): string {
  const colon = description.indexOf(': ');
  return colon > 0 ? description.slice(colon + 2) : description;
}

/**
 * Dawn's instances and devices live as long as the process: collecting an instance whose device threads
 * still run aborts the process (std::system_error in Dawn's destructors), so they are made once and kept.
 */
let enumeration: Promise<ListedAdapter[]> | undefined;
const openDevices = new Map<number, Promise<GPUDevice>>();

/** Every adapter Dawn offers on this host, in Dawn's order (the index `--gpu N` names). Enumerated once per process. */
export function listAdapters(): Promise<ListedAdapter[]> {
  enumeration ??= enumerateAdapters();
  return enumeration;
}

async function enumerateAdapters(): Promise<ListedAdapter[]> {
  const dawn = await loadDawn();
  // Dawn's GPU objects and constants (GPUBufferUsage…) are globals in a browser; tfjs expects them there.
  Object.assign(globalThis, dawn.globals);
  const listed: ListedAdapter[] = [];
  for (const flagName of await adapterFlagNames(dawn)) {
    const gpu = dawn.create([...DAWN_FLAGS, `adapter=${flagName}`]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) continue;
    const { vendor, architecture, device, description } = adapter.info;
    // `isFallbackAdapter` is Dawn's CPU adapter type: a software rasteriser such as lavapipe or SwiftShader.
    const software = (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
    listed.push({
      flagName,
      info: { index: listed.length, name: flagName, vendor, architecture, device, description, driver: driverOf(description), software },
      adapter,
      gpu,
    });
  }
  return listed;
}

/** Lowercase words of a device name without vendor marks and bracketed driver notes: "Intel(R) UHD Graphics 630 (CFL GT2)" → intel uhd graphics 630. */
function nameWords(name: string): string[] {
  return name
    .replace(/\((r|tm)\)/gi, ' ')
    .replace(/\([^)]*\)/g, ' ')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/** Same device when the shorter name's words all appear in the longer one: BOINC and the graphics API each add their own notes. */
export function namesMatch(boincName: string, adapterName: string): boolean {
  const [shorter, longer] = [nameWords(boincName), nameWords(adapterName)].sort((a, b) => a.length - b.length) as [string[], string[]];
  return shorter.length > 0 && shorter.every((word) => longer.includes(word));
}

function describeAdapters(adapters: GpuAdapterInfo[]): string {
  return adapters.length === 0
    ? 'Dawn found no adapter'
    : `adapters: ${adapters.map((a) => `#${a.index} ${a.name} (${a.vendor}${a.software ? ', software' : ''})`).join('; ')}`;
}

/** Dawn's Node bindings select an adapter by name (the `adapter=` flag) and open the first of that name. */
function openable(adapters: GpuAdapterInfo[], chosen: GpuAdapterInfo): boolean {
  return adapters.findIndex((adapter) => adapter.name === chosen.name) === chosen.index;
}

const NOT_OPENABLE = (chosen: GpuAdapterInfo) => `Dawn's Node bindings can open only the first of several adapters named "${chosen.name}"`;

export interface AdapterChoice {
  index: number;
  /** Why this adapter, for the result. */
  selection: string;
}

/**
 * The adapter a run may use. BOINC's assignment is matched by vendor, then name, then its device number
 * among the matches; a mismatch is a temporary failure (the client retries), never another GPU or the CPU.
 * Software adapters are used only when named by index (`--gpu N`), never chosen on their own.
 */
export function chooseAdapter(adapters: GpuAdapterInfo[], assignment: GpuAssignment | undefined): AdapterChoice {
  if (assignment?.source === 'cli' && assignment.device !== undefined) {
    const chosen = adapters[assignment.device];
    if (!chosen) throw new AxiomError('backendUnavailable', `--gpu ${assignment.device}: no such adapter (${describeAdapters(adapters)})`);
    if (!openable(adapters, chosen)) throw new AxiomError('backendUnavailable', `--gpu ${assignment.device}: ${NOT_OPENABLE(chosen)}`);
    return {
      index: chosen.index,
      selection: `--gpu ${assignment.device} named it${chosen.software ? ' (a software adapter, used because it was asked for explicitly)' : ''}`,
    };
  }
  const hardware = adapters.filter((adapter) => !adapter.software);
  if (assignment?.source !== 'boinc') {
    const first = hardware[0];
    if (!first) {
      throw new AxiomError(
        'backendUnavailable',
        `no hardware GPU adapter; a software adapter is never chosen on its own (name one with --gpu N to use it; ${describeAdapters(adapters)})`,
      );
    }
    return { index: first.index, selection: 'the first hardware adapter Dawn lists (no device was named)' };
  }
  const vendors = VENDOR_OF_BOINC_TYPE[assignment.type ?? ''];
  const fail = (why: string) =>
    new AxiomError(
      'backendUnavailable',
      `the BOINC client assigned ${assignment.type} GPU ${assignment.device}${assignment.name ? ` (${assignment.name})` : ''} but ${why} (${describeAdapters(adapters)})`,
      { transient: true },
    );
  if (!vendors) throw fail(`the worker does not know gpu_type "${assignment.type}"`);
  const ofVendor = hardware.filter((adapter) => vendors.includes(adapter.vendor));
  if (ofVendor.length === 0) throw fail(`Dawn offers no hardware ${vendors[0]} adapter`);
  const named = assignment.name ? ofVendor.filter((adapter) => namesMatch(assignment.name!, adapter.name)) : ofVendor;
  if (named.length === 0) throw fail(`no ${vendors[0]} adapter has that name`);
  // BOINC numbers a vendor's devices in bus order, as Vulkan, Metal and D3D12 list them.
  const chosen = named[assignment.device ?? 0];
  if (!chosen) throw fail(`only ${named.length} matching adapter${named.length === 1 ? '' : 's'} exist${named.length === 1 ? 's' : ''}`);
  if (!openable(adapters, chosen)) throw fail(NOT_OPENABLE(chosen));
  return {
    index: chosen.index,
    selection: `BOINC assigned ${assignment.type} device ${assignment.device}${assignment.name ? ` "${assignment.name}"` : ''}: matched by vendor${assignment.name ? ' and name' : ''}${named.length > 1 ? `, device number among ${named.length} matching adapters` : ''}`,
  };
}

/** The device limits tfjs-backend-webgpu requires at the adapter's values (its own registerBackend factory does the same). */
const REQUIRED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;

/**
 * Opens the chosen adapter's device and registers tfjs's WebGPU backend on it, in place of the backend
 * package's own factory (which takes whatever adapter Dawn prefers). Returns what the result records.
 */
export async function openWebgpuDevice(assignment: GpuAssignment | undefined): Promise<{ device: GPUDevice; info: GPUAdapterInfo; record: GpuRecord }> {
  const adapters = await listAdapters();
  const choice = chooseAdapter(
    adapters.map((listed) => listed.info),
    assignment,
  );
  const chosen = adapters[choice.index]!;
  const limits = Object.fromEntries(REQUIRED_LIMITS.map((name) => [name, chosen.adapter.limits[name]]));
  // An adapter gives one device; a later backend on the same adapter reuses it.
  const opening = openDevices.get(choice.index) ?? chosen.adapter.requestDevice({ requiredLimits: limits });
  openDevices.set(choice.index, opening);
  const device = await opening;
  // tfjs-backend-webgpu looks for navigator.gpu before it will construct; Node 20 has no navigator.
  const global = globalThis as { navigator?: { gpu?: GPU } };
  if (global.navigator) Object.defineProperty(global.navigator, 'gpu', { value: chosen.gpu, configurable: true });
  else global.navigator = { gpu: chosen.gpu };
  return { device, info: chosen.adapter.info, record: { adapter: chosen.info, limits, selection: choice.selection } };
}
