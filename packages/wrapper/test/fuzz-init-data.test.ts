import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AxiomError } from '@axiom/runner/host';
import { parseInitData } from '@axiom/wrapper';

const numericFields = [
  'slot',
  'client_pid',
  'ncpus',
  'gpu_device_num',
  'checkpoint_period',
  'fraction_done_start',
  'fraction_done_end',
  'wu_cpu_time',
  'rsc_fpops_bound',
  'rsc_memory_bound',
];
const textFields = ['wu_name', 'project_dir', 'gpu_type'];
const xmlText = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.double().map(String),
  fc.integer().map(String),
  fc.constantFrom('', ' ', 'NaN', 'Infinity', '-0', '1e400', '&amp;', '&bogus;', '<x/>', ']]>'),
);
const element = fc
  .tuple(fc.constantFrom(...numericFields, ...textFields, 'host_info', 'unknown_tag'), xmlText)
  .map(([tag, body]) => `<${tag}>${body}</${tag}>`);
const initDataXml = fc.oneof(
  fc.array(element, { maxLength: 8 }).map((elements) => `<app_init_data>\n${elements.join('\n')}\n</app_init_data>`),
  fc.array(element, { maxLength: 4 }).map((elements) => `<app_init_data>${elements.join('')}`), // truncated
  fc.string(),
);

describe('fuzz: init_data.xml (parseInitData)', () => {
  it('parses to finite numbers, or fails with badWorkunit naming the file; never a crash or NaN', () => {
    fc.assert(
      fc.property(initDataXml, (xml) => {
        let init;
        try {
          init = parseInitData(xml);
        } catch (error) {
          if (!(error instanceof AxiomError))
            throw new Error(`crash instead of a documented error: ${(error as Error)?.stack ?? String(error)}`, { cause: error });
          expect(error.kind).toBe('badWorkunit');
          expect(error.message).toContain('init_data.xml');
          return;
        }
        for (const field of numericFields) expect(Number.isFinite(init[field as keyof typeof init]), field).toBe(true);
        for (const field of textFields) expect(typeof init[field as keyof typeof init]).toBe('string');
      }),
      { numRuns: 2000 * Number(process.env.AXIOM_FUZZ_SCALE ?? 1) },
    );
  });
});
