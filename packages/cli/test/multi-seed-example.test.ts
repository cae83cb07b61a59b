import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinExperiments } from '@axiom/experiments';
import { describe, expect, it } from 'vitest';
import { type Result, writeJsonAtomic } from '@axiom/runner/host';
import { scratch } from './helpers.js';
import { axiomWithResultsCommands } from './results-fixture.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const [node, axiomScript] = axiomWithResultsCommands;

describe('examples/multi-seed/run.sh', () => {
  it('runs a seed sweep, prints the table across seeds and writes the report; a planted duplicate seed is flagged first', async () => {
    const dir = join(await scratch(), 'sweep');
    const sweep = spawnSync('bash', [join(repo, 'examples', 'multi-seed', 'run.sh'), dir], {
      cwd: repo,
      env: { ...process.env, AXIOM_SEED: undefined, AXIOM: `${node} ${axiomScript}`, SEEDS: '1 2 3' }, // three of its five seeds keep the test short
      encoding: 'utf8',
    });
    expect(sweep.status, sweep.stderr).toBe(0);
    expect((await readdir(dir)).filter((name) => name.endsWith('.json')).sort()).toEqual([1, 2, 3].map((seed) => `memorization-dynamics-seed${seed}.json`));
    const version = builtinExperiments.get('memorization-dynamics')!.version;
    expect(sweep.stdout).toContain(`memorization-dynamics ${version}, params `);
    expect(sweep.stdout).toMatch(/, params [0-9a-f]{12} \(preset smoke\): 3 distinct seed\(s\) in 3 result\(s\)/);
    expect(sweep.stdout).toMatch(/corruption 0 \/ 0\.4: clean-first rate – \/ [\d.]+ ± [\d.]+; test accuracy/);
    expect(sweep.stderr).not.toContain('WARNING');
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    expect(await readFile(join(dir, 'report.html'), 'utf8')).toContain('<figure class="plot" data-plot="learning-curves"');

    // Planted: a second workunit that was handed seed 3 again (its result: seed 3's, under its own resultId).
    const seed3 = JSON.parse(await readFile(join(dir, 'memorization-dynamics-seed3.json'), 'utf8')) as Result;
    await writeJsonAtomic(join(dir, 'second-workunit-seed3.json'), { ...seed3, resultId: randomUUID() });
    const analysis = spawnSync(node, [axiomScript, 'analyze', dir], { cwd: repo, encoding: 'utf8' });
    expect(analysis.status, analysis.stderr).toBe(0);
    expect(analysis.stderr.split('\n')[0]).toMatch(/^WARNING: 1 replication problem/);
    expect(analysis.stderr).toMatch(
      /\[shared-seed\] .*seed 3 is shared by 2 results with different resultIds \(identical digests: one computation counted 2 times\)/,
    );
    expect(analysis.stdout).toMatch(/3 distinct seed\(s\) in 4 result\(s\)/);
  });
});
