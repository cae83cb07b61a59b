import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { AxiomError, describeZodError } from '@axiom/runner/host';

/** The file the BOINC client writes into the slot before it starts an app (`INIT_DATA_FILE`, lib/app_ipc.cpp). */
export const INIT_DATA_FILE = 'init_data.xml';

const number = (fallback: number) => z.coerce.number().finite().default(fallback);
const text = z.coerce.string().default('');

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
  host_info: z.object({ p_fpops: number(0) }).partial().default({}),
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

/** What BOINC says about a GPU for this task; none when `gpu_type` is empty. */
export function gpuOf(init: InitData): { type: string; device: number } | undefined {
  return init.gpu_type ? { type: init.gpu_type, device: Math.max(0, init.gpu_device_num) } : undefined;
}

/**
 * Wall seconds this task may still run before the client would abort it for exceeding its bound
 * (rsc_fpops_bound / host flops), or undefined if the client gave no bound.
 */
export function remainingBoundSeconds(init: InitData): number | undefined {
  const flops = init.host_info.p_fpops ?? 0;
  if (init.rsc_fpops_bound <= 0 || flops <= 0) return undefined;
  return init.rsc_fpops_bound / flops - init.starting_elapsed_time;
}
