import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workunitSchema } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { estimateCost, makeWork, modelFlops, modelledWork, recordSeeds, REFERENCE_FPOPS, reserveSeeds } from '@axiom/wrapper';

const scratch = () => mkdtemp(join(tmpdir(), 'axiom-project-'));
const ledgerLines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean).map(Number);

describe('the seed ledger', () => {
  it('hands out crypto-random seeds that are unique across batches and records every one', async () => {
    const ledger = join(await scratch(), 'ledger.txt');
    const first = await reserveSeeds(ledger, 50);
    const second = await reserveSeeds(ledger, 50);
    expect(new Set([...first, ...second]).size).toBe(100);
    expect(await ledgerLines(ledger)).toEqual([...first, ...second]);
  });

  it('draws again when the seed source repeats a seed of the batch or of the ledger', async () => {
    const ledger = join(await scratch(), 'ledger.txt');
    await writeFile(ledger, '7\n');
    const repeating = [7, 8, 8, 7, 9][Symbol.iterator]();
    expect(await reserveSeeds(ledger, 2, () => repeating.next().value!)).toEqual([8, 9]);
    expect(await ledgerLines(ledger)).toEqual([7, 8, 9]);
  });

  it('refuses a seed the ledger already has, and one repeated in the batch, writing nothing', async () => {
    const ledger = join(await scratch(), 'ledger.txt');
    await recordSeeds(ledger, [11, 12]);
    await expect(recordSeeds(ledger, [13, 12])).rejects.toThrow(/seed 12 was already handed out/);
    await expect(recordSeeds(ledger, [14, 14])).rejects.toThrow(/seed 14 was already handed out/);
    expect(await ledgerLines(ledger)).toEqual([11, 12]);
  });

  it('gives concurrent batches disjoint seeds (reading and appending happen under a lock)', async () => {
    const ledger = join(await scratch(), 'ledger.txt');
    const batches = await Promise.all([1, 2, 3, 4].map(() => reserveSeeds(ledger, 25)));
    expect(new Set(batches.flat()).size).toBe(100);
    expect((await ledgerLines(ledger)).sort()).toEqual(batches.flat().sort());
  });
});

describe('make-work', () => {
  it('writes one wu.json per seed, the JobTemplates with the cost, and one create_work call for the batch', async () => {
    const dir = await scratch();
    const cost = estimateCost('memorization-dynamics', 'smoke', { epochs: 5 });
    const made = await makeWork({
      experiment: 'memorization-dynamics',
      count: 3,
      replicas: 2,
      cost,
      preset: 'smoke',
      params: { epochs: 5 },
      outDir: join(dir, 'batch'),
      ledgerPath: join(dir, 'ledger.txt'),
    });
    const seeds = made.workunits.map(({ workunit }) => workunit.seed);
    expect(new Set(seeds).size).toBe(3);
    for (const { name, path, workunit } of made.workunits) {
      expect(workunitSchema.parse(JSON.parse(await readFile(path, 'utf8')))).toEqual(workunit);
      expect(workunit).toMatchObject({ experiment: 'memorization-dynamics', preset: 'smoke', params: { epochs: 5 } });
      expect(name).toBe(`axiom_memorization-dynamics_s${workunit.seed}`);
      expect(await readFile(join(dir, 'batch', 'stage', `${name}.json`), 'utf8'), 'staged by link').toBe(await readFile(path, 'utf8'));
    }
    const script = await readFile(made.scriptPath, 'utf8');
    const templateName = /--wu_template templates\/(axiom_in_[0-9a-f]{12}) /.exec(script)![1]!;
    const input = await readFile(join(dir, 'batch', 'templates', templateName), 'utf8');
    expect(input).toMatch(/<file_number>0<\/file_number>\s*<open_name>wu.json<\/open_name>/);
    for (const [tag, value] of [
      ['rsc_fpops_est', cost.fpopsEstimate],
      ['rsc_fpops_bound', cost.fpopsBound],
      ['rsc_memory_bound', cost.memoryBoundBytes],
      ['rsc_disk_bound', cost.diskBoundBytes],
    ] as const) {
      expect(input).toContain(`<${tag}>${value}</${tag}>`);
    }
    const output = await readFile(join(dir, 'batch', 'templates', 'axiom_out'), 'utf8');
    for (const tag of [
      '<name><OUTFILE_0/></name>',
      '<generated_locally/>',
      '<upload_when_present/>',
      '<max_nbytes>',
      '<url><UPLOAD_URL/></url>',
      '<open_name>result.json</open_name>',
    ]) {
      expect(output).toContain(tag);
    }
    expect(script).toContain('bin/stage_file --copy "$batch/stage"');
    expect(script).toContain(
      `bin/create_work --appname axiom --wu_template templates/${templateName} --result_template templates/axiom_out --min_quorum 2 --target_nresults 2 --max_error_results 3 --max_total_results 7 --max_success_results 4 --stdin <<'EOF'\n` +
        made.workunits.map(({ name }) => `--wu_name ${name} ${name}.json\n`).join('') +
        'EOF\n',
    );
  });
});

describe('the cost model', () => {
  it('scales with the work: epochs, widths and sweep sizes', () => {
    const smoke = modelFlops('memorization-dynamics', 'smoke', undefined);
    expect(modelFlops('memorization-dynamics', 'smoke', { epochs: 30 })).toBeCloseTo(2 * smoke, -3);
    expect(modelFlops('memorization-dynamics', 'smoke', { corruptionLevels: [0, 0.2, 0.4, 0.6] })).toBeCloseTo(2 * smoke, -3);
    expect(modelFlops('feature-competition', 'smoke', { widths: [64] })).toBeLessThan(modelFlops('feature-competition', 'smoke', { widths: [64, 128] }));
    // Each experiment's full sweep costs more than its smoke run by the FLOPs and steps between them at its
    // declared rates (the same start-up in both), and its bounds follow.
    for (const [name, experiment] of builtinExperiments) {
      const [smokeCost, fullCost] = [estimateCost(name, 'smoke', undefined), estimateCost(name, undefined, undefined)];
      const [smokeWork, fullWork] = [modelledWork(name, 'smoke', undefined), modelledWork(name, undefined, undefined)];
      expect(fullWork.flops, name).toBeGreaterThan(smokeWork.flops);
      expect(fullWork.steps, name).toBeGreaterThanOrEqual(smokeWork.steps);
      const { flopsPerSecond, secondsPerStep } = experiment.work!;
      const extraSeconds = (fullWork.flops - smokeWork.flops) / flopsPerSecond + (fullWork.steps - smokeWork.steps) * secondsPerStep;
      expect(fullCost.fpopsEstimate - smokeCost.fpopsEstimate, name).toBeCloseTo(extraSeconds * REFERENCE_FPOPS, -2);
      expect(fullCost.fpopsBound).toBe(20 * fullCost.fpopsEstimate);
      expect(fullCost.memoryBoundBytes).toBeGreaterThanOrEqual(smokeCost.memoryBoundBytes);
    }
  });

  it('counts a stack’s steps once for all its networks (once per part where the runner splits it), and each network’s with stacking off', () => {
    // memorization-dynamics trains every network in one stack: its steps are one network's, 4 epochs × 4 batches.
    const sweep = { epochs: 4, trainSize: 100, batchSize: 32, corruptionLevels: [0, 0.5], replicates: 3 };
    expect(modelledWork('memorization-dynamics', 'smoke', sweep).steps).toBe(16);
    // Its default sweep's stack is the whole sweep, long enough for the runner to split in two parts (`stackParts`),
    // and each part pays the steps: 80 epochs × 32 batches of 64 from 2000 examples, twice.
    expect(modelledWork('memorization-dynamics', undefined, undefined).steps).toBe(2 * 80 * 32);
    expect(modelledWork('memorization-dynamics', 'smoke', { ...sweep, stacking: 'off' }).steps).toBe(16 * 6);
    // critical-batch-size stacks by batch size: one stack's steps per batch size, whatever the learning rates.
    const byBatch = modelledWork('critical-batch-size', 'smoke', undefined).steps;
    expect(modelledWork('critical-batch-size', 'smoke', { learningRates: [0.1, 0.3] }).steps).toBe(byBatch);
  });

  it('names an experiment it has no model for, and a misspelt parameter', () => {
    expect(() => estimateCost('no-such-experiment', undefined, undefined)).toThrow(/no work estimate for experiment "no-such-experiment"/);
    expect(() => estimateCost('memorization-dynamics', 'smoke', { epocs: 3 })).toThrow(/epocs/);
  });
});
