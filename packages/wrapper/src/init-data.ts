import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { AxiomError, describeZodError, type GpuAssignment } from '@axiom/runner/host';

/** The file the BOINC client writes into the slot before it starts an app (`INIT_DATA_FILE`, lib/app_ipc.cpp). */
export const INIT_DATA_FILE = 'init_data.xml';

const number = (fallback: number) => z.coerce.number().finite().default(fallback);
const text = z.coerce.string().default('');

/** A coprocessor element of the client's host description, reduced to the device's name (`model` for Apple GPUs). */
function coprocNamed(field: 'name' | 'model') {
  return z.object({ [field]: text }).transform((coproc) => ({ name: coproc[field] ?? '' }));
}

/** BOINC's gpu_type → the element of `<coprocs>` describing that vendor's devices. */
const COPROC_ELEMENT = { NVIDIA: 'coproc_cuda', ATI: 'coproc_ati', intel_gpu: 'coproc_intel_gpu', apple_gpu: 'coproc_apple_gpu' } as const;

/** The fields of `<app_init_data>` the worker uses; unknown elements are ignored, as the client adds more over versions. */
export const initDataSchema = z.object({
  wu_name: text,
  result_name: text,
  project_dir: text,
  boinc_dir: text,
  slot: number(0),
  client_pid: number(0),
  ncpus: number(1),
  gpu_type: text,
  gpu_device_num: number(-1),
  gpu_opencl_dev_index: number(-1),
  checkpoint_period: number(300),
  fraction_done_start: number(0),
  fraction_done_end: number(1),
  wu_cpu_time: number(0),
  starting_elapsed_time: number(0),
  rsc_fpops_est: number(0),
  rsc_fpops_bound: number(0),
  rsc_memory_bound: number(0),
  rsc_disk_bound: number(0),
  computation_deadline: number(0),
  host_info: z
    .object({
      p_fpops: number(0),
      /** The client's description of each GPU vendor's devices (lib/coproc.cpp, COPROCS::write_xml): the name is the best device's. */
      // A host without GPUs gets an empty <coprocs></coprocs>, which the XML parser reads as "".
      coprocs: z.preprocess(
        (value) => (typeof value === 'object' && value !== null ? value : {}),
        z
          .object({
            coproc_cuda: coprocNamed('name'),
            coproc_ati: coprocNamed('name'),
            coproc_intel_gpu: coprocNamed('name'),
            coproc_apple_gpu: coprocNamed('model'),
          })
          .partial(),
      ),
    })
    .partial()
    .default({}),
});
export type InitData = z.infer<typeof initDataSchema>;

const parser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, trimValues: true });

export function parseInitData(xml: string, origin = INIT_DATA_FILE): InitData {
  let document: { app_init_data?: unknown };
  try {
    document = parser.parse(xml) as { app_init_data?: unknown };
  } catch (error) {
    throw new AxiomError('badWorkunit', `${origin} is not well-formed XML: ${(error as Error).message}`);
  }
  if (typeof document.app_init_data !== 'object' || document.app_init_data === null) {
    throw new AxiomError('badWorkunit', `${origin} has no <app_init_data> element`);
  }
  const parsed = initDataSchema.safeParse(document.app_init_data);
  if (!parsed.success) throw new AxiomError('badWorkunit', `${origin}: ${describeZodError(parsed.error, initDataSchema)}`);
  return parsed.data;
}

/** The slot's init data, or undefined when there is none: the app was not started by a BOINC client. */
export async function readInitData(slotDir: string): Promise<InitData | undefined> {
  const path = join(slotDir, INIT_DATA_FILE);
  let xml: string;
  try {
    xml = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseInitData(xml, path);
}

/**
 * The GPU the client assigned this task: its type, device number (the OpenCL device index when only that is
 * given) and name from the client's coprocessor description; none when `gpu_type` is empty (a CPU task).
 */
export function gpuOf(init: InitData): GpuAssignment | undefined {
  if (!init.gpu_type) return undefined;
  const element = COPROC_ELEMENT[init.gpu_type as keyof typeof COPROC_ELEMENT] as keyof NonNullable<InitData['host_info']['coprocs']> | undefined;
  const name = element ? init.host_info.coprocs?.[element]?.name : undefined;
  const device = init.gpu_device_num >= 0 ? init.gpu_device_num : init.gpu_opencl_dev_index >= 0 ? init.gpu_opencl_dev_index : 0;
  return { source: 'boinc', type: init.gpu_type, device, ...(name ? { name } : {}) };
}

/**
 * Elapsed seconds this task may still run before the client aborts it: the client's limit is
 * rsc_fpops_bound over the app version's flops (client/app.cpp, ACTIVE_TASK::init), counted in elapsed
 * time, which stops while the task is suspended and carries over restarts (starting_elapsed_time).
 * init_data.xml does not carry the app version's flops; for a CPU app the client's own figure is
 * avg_ncpus × the host's p_fpops (client/client_state.cpp), which is used here. Undefined without a bound.
 */
export function remainingBoundSeconds(init: InitData): number | undefined {
  const flops = (init.host_info.p_fpops ?? 0) * Math.max(init.ncpus, 0);
  if (init.rsc_fpops_bound <= 0 || flops <= 0) return undefined;
  return init.rsc_fpops_bound / flops - init.starting_elapsed_time;
}
