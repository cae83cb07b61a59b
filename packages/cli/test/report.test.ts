import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium as playwrightChromium } from 'playwright-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { writeJsonAtomic } from '@axiom/runner/host';
import type { ChartKind } from '../src/charts.js';
import { reportCommand } from '../src/report-command.js';
import { scratch } from './helpers.js';
import { runSmokeToFile } from './results-fixture.js';
import { systemDependency } from '../../../test-support/system-dependency.js';

const CHROMIUM = '/usr/bin/chromium';
const chromium = systemDependency('chromium', existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is absent (apt-get install chromium)`);

/** The plots each experiment's report must show, and the Vega marks each plot must have drawn. */
const expectedPlots: Record<string, ChartKind[]> = {
  'memorization-dynamics': ['learning-curves', 'keyed'],
  'micro-scaling-laws': ['learning-curves', 'scaling'],
  'representation-alignment': ['learning-curves', 'keyed'],
  'feature-competition': ['learning-curves', 'keyed'],
  'curriculum-learning': ['learning-curves', 'keyed'],
  'mode-connectivity': ['learning-curves', 'keyed'],
};
const expectedMarks: Record<ChartKind, string[]> = {
  'learning-curves': ['mark-area', 'mark-line'],
  scaling: ['mark-symbol', 'mark-line'],
  keyed: ['mark-symbol', 'mark-rule'],
};

describe('axiom report', () => {
  let dir: string;
  let report: string;

  beforeAll(async () => {
    dir = await scratch();
    for (const experiment of Object.keys(expectedPlots)) {
      // Two seeds give bands and intervals; the scaling plot needs one, and that experiment is the slowest.
      for (const seed of experiment === 'micro-scaling-laws' ? [1] : [1, 2]) {
        const { result } = await runSmokeToFile(dir, experiment, seed);
        // Planted: memorization seed 1 again under another resultId, so the report must carry the warning.
        if (experiment === 'memorization-dynamics' && seed === 1)
          await writeJsonAtomic(join(dir, 'second-workunit-seed1.json'), { ...result, resultId: randomUUID() });
      }
    }
    report = join(dir, 'report.html');
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await reportCommand([dir], { out: report })).toBe(0);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });

  it('writes one self-contained HTML file: plots as inline SVG, nothing to fetch when it is opened', async () => {
    const html = await readFile(report, 'utf8');
    expect(html).not.toMatch(/\s(src|href)\s*=|<link\b|@import|url\(/i);
    expect(html.match(/<figure class="plot"/g)).toHaveLength(Object.values(expectedPlots).flat().length);
    expect(html.match(/<svg\b/g)).toHaveLength(Object.values(expectedPlots).flat().length);
    expect(html).toContain('WARNING: replication problems');
  });

  it('plots curves against their x axis: epochs, or where an experiment declares one, its positions', async () => {
    const html = await readFile(report, 'utf8');
    const figures = html.matchAll(/<figure class="plot" data-plot="learning-curves" data-experiment="([^"]+)">[\s\S]*?class="vega-lite-spec">(.*?)<\/script>/g);
    const axes = Object.fromEntries(
      [...figures].map(([, experiment, json]) => {
        const spec = JSON.parse(json!) as { data: { values: Array<{ position: number }> }; spec: { layer: Array<{ encoding: { x: { title: string } } }> } };
        const positions = [...new Set(spec.data.values.map((row) => row.position))].sort((a, b) => a - b);
        return [experiment, { title: spec.spec.layer.map((layer) => layer.encoding.x.title), positions }];
      }),
    );
    expect(Object.keys(axes).sort()).toEqual(Object.keys(expectedPlots).sort());
    // mode-connectivity's profiles lie along the path between two networks, at its smoke preset's five values of t.
    expect(axes['mode-connectivity']).toEqual({ title: ['t along the path (0 to 1)', 't along the path (0 to 1)'], positions: [0, 0.25, 0.5, 0.75, 1] });
    for (const [experiment, { title, positions }] of Object.entries(axes).filter(([experiment]) => experiment !== 'mode-connectivity')) {
      expect(title, experiment).toEqual(['epoch', 'epoch']);
      expect(positions, experiment).toEqual(positions.map((_, index) => index + 1));
    }
  });

  it.skipIf(chromium.missing)(`renders every plot in headless Chromium${chromium.note}`, async () => {
    const context = await playwrightChromium.launchPersistentContext(await mkdtemp(join(dir, 'chromium-profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 1000 },
    });
    try {
      const page = await context.newPage();
      const requested: string[] = [];
      page.on('request', (request) => requested.push(request.url()));
      const url = pathToFileURL(report).href;
      await page.goto(url);

      const plots = await page.$$eval('figure.plot', (figures) =>
        figures.map((figure) => {
          const svgs = figure.querySelectorAll('svg');
          // A mark counts as drawn when at least one of its items has a visible size.
          const drawn = [...figure.querySelectorAll('svg g.role-mark')]
            .filter((group) =>
              [...group.children].some((item) => {
                const box = (item as unknown as { getBBox(): { width: number; height: number } }).getBBox(); // an SVG element
                return box.width > 0 || box.height > 0;
              }),
            )
            .flatMap((group) => [...group.classList].filter((name) => name.startsWith('mark-')));
          return { experiment: figure.getAttribute('data-experiment'), kind: figure.getAttribute('data-plot'), svgs: svgs.length, drawn };
        }),
      );
      const shown = Object.fromEntries(
        Object.keys(expectedPlots).map((experiment) => [experiment, plots.filter((plot) => plot.experiment === experiment).map((plot) => plot.kind)]),
      );
      expect(shown).toEqual(expectedPlots);
      for (const plot of plots) {
        expect(plot.svgs, `${plot.experiment} ${plot.kind}`).toBe(1);
        expect(plot.drawn, `${plot.experiment} ${plot.kind}`).toEqual(expect.arrayContaining(expectedMarks[plot.kind as ChartKind]));
      }
      await expect(page.locator('#replication-warning').isVisible()).resolves.toBe(true);
      expect(await page.locator('#replication-warning').innerText()).toContain('[shared-seed]');
      expect(requested).toEqual([url]); // the page itself, and nothing else

      const screenshot = join(dir, 'report.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      expect((await readFile(screenshot)).subarray(1, 4).toString()).toBe('PNG');
      console.log(`report screenshot: ${screenshot}`);
    } finally {
      await context.close();
    }
  });
});
