import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { mean, sampleStandardDeviation } from 'simple-statistics';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveSeed, type Result, writeJsonAtomic } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { analyzeCommand } from '../src/analyze-command.js';
import { analyze } from '../src/analyze.js';
import { groupByConfiguration, loadResults } from '../src/result-set.js';
import { formatEstimate, summarize, tCritical95 } from '../src/statistics.js';
import { scratch } from './helpers.js';
import { runSmokeToFile } from './results-fixture.js';

const EXPERIMENT = 'memorization-dynamics';
const VERSION = builtinExperiments.get(EXPERIMENT)!.version.replace(/\./g, '\\.');

/** Runs a command in-process and records what it wrote, in order, with the stream it went to. */
async function captured(command: () => Promise<number>) {
  const writes: Array<{ stream: 'stdout' | 'stderr'; text: string }> = [];
  const spies = (['stdout', 'stderr'] as const).map((stream) =>
    vi.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push({ stream, text: String(chunk) });
      return true;
    }),
  );
  try {
    const code = await command();
    const text = (stream: string) =>
      writes
        .filter((write) => write.stream === stream)
        .map((write) => write.text)
        .join('');
    return { code, writes, stdout: text('stdout'), stderr: text('stderr') };
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
}

describe('axiom analyze', () => {
  let dir: string;
  let cleanDir: string;
  const bySeed = new Map<number, Result>();

  beforeAll(async () => {
    dir = await scratch();
    cleanDir = await scratch();
    for (const seed of [1, 2, 3]) {
      const { file, result } = await runSmokeToFile(dir, EXPERIMENT, seed);
      bySeed.set(seed, result);
      await copyFile(file, join(cleanDir, `seed${seed}.json`));
    }
    // Planted: a second workunit that got seed 2 again (a real second computation).
    await runSmokeToFile(dir, EXPERIMENT, 2);
    // Planted: a workunit without a seed, so the worker drew one (a real crypto-fallback run).
    const fallback = await runSmokeToFile(
      dir,
      EXPERIMENT,
      resolveSeed({ workunit: { path: 'wu.json', resolvedPath: 'wu.json', seedProblem: { code: 'wu-missing', message: 'wu.json does not exist' } } }),
    );
    bySeed.set(fallback.result.seed.value, fallback.result);
    // Planted: seed 3's computation recorded under seed 99, as when the seed never reached the experiment.
    const relabelled = { ...bySeed.get(3)!, resultId: randomUUID(), seed: { value: 99, source: 'wu.json' as const } };
    bySeed.set(99, relabelled);
    await writeJsonAtomic(join(dir, 'relabelled-seed99.json'), relabelled);
    // Not results: a copy of one (same resultId) and a JSON file of something else.
    await copyFile(join(cleanDir, 'seed1.json'), join(dir, 'copy-of-seed1.json'));
    await writeFile(join(dir, 'notes.json'), '{"hello": "world"}');
  });

  it('prints the replication WARNING first, on stderr, and counts distinct seeds rather than files', async () => {
    const run = await captured(() => analyzeCommand([dir], {}));
    expect(run.code).toBe(0);
    expect(run.writes[0]!.stream).toBe('stderr');
    const [first, ...rest] = run.stderr.split('\n');
    expect(first).toBe('WARNING: 3 replication problem(s): these results are not as independent as their number suggests.');
    const warnings = rest.join('\n');
    expect(warnings).toMatch(
      new RegExp(
        String.raw`\[shared-seed\] memorization-dynamics ${VERSION}, params [0-9a-f]{12}: seed 2 is shared by 2 results with different resultIds \(identical digests: one computation counted 2 times\)`,
      ),
    );
    expect(warnings).toMatch(/\[identical-digest\] digest [0-9a-f]{12}… comes from 2 different seeds \((3, 99|99, 3)\)/);
    expect(warnings).toMatch(/\[fallback-seed\] .*1 result\(s\) ran on a fallback seed.*wu\.json does not exist/);
    expect(warnings).toContain(`skipped: ${join(dir, 'notes.json')} is not a valid result`);
    expect(warnings.split('\n').find((line) => line.includes('holds the same result as'))).toContain(join(dir, 'copy-of-seed1.json'));
    // Seeds 1, 2, 3, 99 and the fallback seed: six result files, five seeds.
    expect(run.stdout).toMatch(
      new RegExp(String.raw`^== memorization-dynamics ${VERSION}, params [0-9a-f]{12} \(preset smoke\): 5 distinct seed\(s\) in 6 result\(s\)$`, 'm'),
    );
    expect(run.stdout).toMatch(/^ {2}corruption 0 \/ 0\.4: clean-first rate – \/ [\d.]+ ± [\d.]+; test accuracy [\d.]+ ± [\d.]+ \/ [\d.]+ ± [\d.]+$/m);
    expect(run.stdout).toMatch(/^ {2}byLevel\.0\.4\.cleanFirstRate +5 +[\d.]+ +[\d.e-]+ +\[[\d.]+, [\d.]+\]$/m);
  });

  it('summarises each metric over one value per distinct seed, with a t-based 95% interval', async () => {
    const { records, skipped } = await loadResults([dir]);
    const analysis = analyze(groupByConfiguration(records), skipped);
    const [configuration] = analysis.configurations;
    expect(configuration!.seeds).toEqual([...bySeed.keys()].sort((a, b) => a - b));
    const values = [...bySeed.values()].map((result) => (result.metrics.byLevel as Record<string, Record<string, number>>)['0.4']!.testAccuracy!);
    const summary = configuration!.metrics.find((metric) => metric.metric === 'byLevel.0.4.testAccuracy')!;
    const halfWidth = (2.7764 * sampleStandardDeviation(values)) / Math.sqrt(5);
    expect(summary.n).toBe(5);
    expect(summary.mean).toBeCloseTo(mean(values), 12);
    expect(summary.sd).toBeCloseTo(sampleStandardDeviation(values), 12);
    expect(summary.ci95![0]).toBeCloseTo(mean(values) - halfWidth, 12);
    expect(summary.ci95![1]).toBeCloseTo(mean(values) + halfWidth, 12);
  });

  it('--json carries the flag and the problems; --csv has one row per metric', async () => {
    const json = await captured(() => analyzeCommand([dir], { json: true }));
    const parsed = JSON.parse(json.stdout) as ReturnType<typeof analyze>;
    expect(parsed.replication.trustworthy).toBe(false);
    expect(parsed.replication.problems.map((problem) => problem.kind).sort()).toEqual(['fallback-seed', 'identical-digest', 'shared-seed']);
    expect(parsed.configurations[0]).toMatchObject({ experiment: EXPERIMENT, results: 6, presets: ['smoke'] });
    expect(parsed.configurations[0]!.seeds).toHaveLength(5);

    const csv = await captured(() => analyzeCommand([dir], { csv: true }));
    const [header, ...rows] = csv.stdout.trim().split('\n');
    expect(header).toBe('experiment,version,scriptSha256,paramsDigest,presets,seeds,results,metric,n,mean,sd,ci95Low,ci95High');
    expect(rows).toHaveLength(parsed.configurations[0]!.metrics.length);
    expect(rows.find((row) => row.includes(',byLevel.0.cleanFirstRate,'))).toBeUndefined(); // null at corruption 0: not a number
    expect(rows.find((row) => row.includes(',byLevel.0.4.testAccuracy,'))).toMatch(
      new RegExp(String.raw`^memorization-dynamics,${VERSION},,[0-9a-f]{64},smoke,5,6,byLevel\.0\.4\.testAccuracy,5,`),
    );
  });

  it('states the finding beside its control across seeds, with their difference paired by seed, and how many seeds each verdict holds in', async () => {
    const run = await captured(() => analyzeCommand([cleanDir], {}));
    const seeds = [1, 2, 3].map((seed) => bySeed.get(seed)!.metrics as Record<string, number | boolean>);
    const estimate = (values: number[]) => formatEstimate(summarize(values));
    const [measure, control] = [seeds.map((m) => m.meanCleanFirstRate as number), seeds.map((m) => m.placeboCleanFirstRate as number)];
    const differences = measure.map((value, i) => value - control[i]!);
    expect(run.stdout).toContain(
      `  clean examples are fit before corrupted ones (clean-first rate, mean over corrupted levels): ${estimate(measure)} vs ${estimate(control)} for a random subset left uncorrupted (the clean run); difference ${estimate(differences)}\n`,
    );
    const holds = seeds.filter((m) => m.cleanFirstAtEveryLevel === true).length;
    expect(run.stdout).toContain(`  clean examples are fit first at every corruption level: ${holds} of 3 seed(s)\n`);
  });

  it('says nothing alarming about clean replicates', async () => {
    const run = await captured(() => analyzeCommand([cleanDir], { json: true }));
    expect(run.stderr).toBe('');
    expect((JSON.parse(run.stdout) as ReturnType<typeof analyze>).replication).toEqual({ trustworthy: true, problems: [] });
  });

  it('walks nested directories without following links or entering node_modules, and stops past a cap instead of reading the whole disk', async () => {
    const tree = await scratch();
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await mkdir(join(tree, 'node_modules'));
    await copyFile(join(cleanDir, 'seed1.json'), join(tree, 'a', 'b', 'seed1.json'));
    await copyFile(join(cleanDir, 'seed2.json'), join(tree, 'node_modules', 'seed2.json'));
    await symlink(cleanDir, join(tree, 'link-to-clean'));
    const { records } = await loadResults([tree]);
    expect(records.map((record) => record.file)).toEqual([join(tree, 'a', 'b', 'seed1.json')]);
    await expect(loadResults([tree], 3)).rejects.toThrow(`${tree}: more than 3 entries below it; give the directory that holds the results`);
  });

  it('refuses a directory without complete results', async () => {
    const empty = await scratch();
    await expect(analyzeCommand([empty], {})).rejects.toThrow(/no complete results found/);
  });
});

describe('statistics', () => {
  it('t critical values: the table up to 30 degrees of freedom, the Cornish–Fisher expansion beyond', () => {
    expect(tCritical95(1)).toBe(12.7062);
    expect(tCritical95(4)).toBe(2.7764);
    expect(tCritical95(30)).toBe(2.0423);
    // scipy.stats.t.ppf(0.975, df) for 40, 60, 120 and 1000.
    expect(tCritical95(40)).toBeCloseTo(2.0211, 3);
    expect(tCritical95(60)).toBeCloseTo(2.0003, 3);
    expect(tCritical95(120)).toBeCloseTo(1.9799, 3);
    expect(tCritical95(1000)).toBeCloseTo(1.9623, 3);
  });

  it('a single observation has a mean and nothing else', () => {
    expect(summarize([0.5])).toEqual({ n: 1, mean: 0.5, sd: null, ci95: null });
  });
});
