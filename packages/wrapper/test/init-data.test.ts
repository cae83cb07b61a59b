import { describe, expect, it } from 'vitest';
import { AxiomError } from '@axiom/runner/host';
import { gpuOf, parseInitData, remainingBoundSeconds } from '@axiom/wrapper';

// Shaped like what the 7.20 client writes (lib/app_ipc.cpp write_init_data_file), abridged.
const SAMPLE = `<app_init_data>
<major_version>7</major_version>
<minor_version>20</minor_version>
<app_name>axiom</app_name>
<project_dir>/var/lib/boinc/projects/127.0.0.1_axiom</project_dir>
<boinc_dir>/var/lib/boinc</boinc_dir>
<wu_name>wu_17</wu_name>
<result_name>wu_17_0</result_name>
<slot>3</slot>
<client_pid>4242</client_pid>
<wu_cpu_time>12.500000</wu_cpu_time>
<starting_elapsed_time>20.000000</starting_elapsed_time>
<checkpoint_period>60.000000</checkpoint_period>
<fraction_done_start>0.000000</fraction_done_start>
<fraction_done_end>1.000000</fraction_done_end>
<gpu_type>NVIDIA</gpu_type>
<gpu_device_num>1</gpu_device_num>
<ncpus>2.000000</ncpus>
<rsc_fpops_est>1000000000000.000000</rsc_fpops_est>
<rsc_fpops_bound>10000000000000.000000</rsc_fpops_bound>
<rsc_memory_bound>500000000.000000</rsc_memory_bound>
<computation_deadline>1790000000.000000</computation_deadline>
<host_info>
    <p_fpops>5000000000.000000</p_fpops>
    <p_ncpus>2</p_ncpus>
</host_info>
</app_init_data>`;

describe('init_data.xml', () => {
  it('gives the fields the worker uses', () => {
    const init = parseInitData(SAMPLE);
    expect(init).toMatchObject({
      wu_name: 'wu_17',
      result_name: 'wu_17_0',
      project_dir: '/var/lib/boinc/projects/127.0.0.1_axiom',
      slot: 3,
      client_pid: 4242,
      ncpus: 2,
      checkpoint_period: 60,
      wu_cpu_time: 12.5,
      rsc_fpops_bound: 1e13,
      host_info: { p_fpops: 5e9 },
    });
    expect(gpuOf(init)).toEqual({ type: 'NVIDIA', device: 1 });
    expect(remainingBoundSeconds(init)).toBe(1e13 / 5e9 - 20);
  });

  it('defaults what the client leaves out: no GPU, a 300 s checkpoint period, no bound', () => {
    const init = parseInitData('<app_init_data><wu_name>w</wu_name></app_init_data>');
    expect(gpuOf(init)).toBeUndefined();
    expect(init.checkpoint_period).toBe(300);
    expect(remainingBoundSeconds(init)).toBeUndefined();
  });

  it('rejects garbage with a clear error', () => {
    expect(() => parseInitData('<nope/>')).toThrowError(/has no <app_init_data> element/);
    expect(() => parseInitData('<app_init_data><ncpus>two</ncpus></app_init_data>')).toThrowError(AxiomError);
  });
});
