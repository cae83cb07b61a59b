/**
 * The bench's webgpu column. A hardware adapter is timed like every other backend; a software one (lavapipe,
 * SwiftShader) only shows that WebGPU computes what WASM does: its timings would describe the CPU emulating a GPU.
 */
import { type GpuAdapterInfo, listAdapters } from '@axiom/runner/host';
import { measureIn, type BenchTarget } from './measure-process.js';

interface CorrectnessMeasurement {
  adapter?: string;
  steps: number;
  initialLoss: number;
  finalLoss: number;
}

export interface WebgpuColumn {
  /** The hardware adapter to time, if the host has one. */
  target?: BenchTarget;
  /** Correctness rows for a software adapter. */
  rows: Array<Record<string, string | number>>;
  /** One line for the report's header. */
  note: string;
}

/** The workload the correctness check trains on both backends. */
const CHECKED_WORKLOAD = 'W2';

export async function webgpuColumn(log: (line: string) => void): Promise<WebgpuColumn> {
  let adapters: GpuAdapterInfo[];
  try {
    adapters = (await listAdapters()).map((listed) => listed.info);
  } catch (error) {
    return { rows: [], note: `webgpu: not measured (${(error as Error).message})` };
  }
  const hardware = adapters.find((adapter) => !adapter.software);
  if (hardware)
    return {
      target: { backend: 'webgpu', threads: 1, gpu: hardware.index },
      rows: [],
      note: `webgpu: timed on adapter #${hardware.index} ${hardware.name} (driver ${hardware.driver})`,
    };
  const software = adapters.find((adapter) => adapter.software);
  if (!software) return { rows: [], note: 'webgpu: not measured (Dawn found no adapter)' };
  const onGpu = measureIn<CorrectnessMeasurement>({ backend: 'webgpu', threads: 1, gpu: software.index }, ['correctness', CHECKED_WORKLOAD]);
  const onWasm = measureIn<CorrectnessMeasurement>({ backend: 'wasm', threads: 1 }, ['correctness', CHECKED_WORKLOAD]);
  const note = `webgpu: only a software adapter here (${software.name}): correctness only, not timed; a GPU host gives the timings`;
  if (!onGpu || !onWasm) return { rows: [], note: `${note} (the check failed: see above)` };
  const relative = Math.abs(onGpu.finalLoss - onWasm.finalLoss) / Math.abs(onWasm.finalLoss);
  const row = {
    workload: CHECKED_WORKLOAD,
    backend: 'webgpu',
    adapter: `${software.name} (software)`,
    'SGD steps': onGpu.steps,
    'loss before': Number(onGpu.initialLoss.toFixed(4)),
    'loss after': Number(onGpu.finalLoss.toFixed(6)),
    'WASM loss after': Number(onWasm.finalLoss.toFixed(6)),
    'relative difference': relative.toExponential(2),
  };
  log(JSON.stringify(row));
  return { rows: [row], note };
}
