import { WORKER_VERSION } from '@axiom/runner/host';
import { configurationHeading, type Analysis, type ConfigurationAnalysis } from './analyze.js';
import { chartsFor, renderSvg, type Chart } from './charts.js';
import { describeGroup, type ConfigurationGroup } from './result-set.js';
import { formatNumber } from './statistics.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** JSON inside a <script> element: only "</" could end the element early. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/<\//g, '<\\/');

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
.meta, figcaption, .params { color: #555; }
table { border-collapse: collapse; margin: 0.5rem 0; } th, td { padding: 0.2rem 0.6rem; text-align: left; border-bottom: 1px solid #eee; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.warning { border: 3px solid #c00; background: #fff0f0; padding: 0.5rem 1rem; margin: 1rem 0; }
.warning h2 { color: #c00; margin-top: 0.5rem; border: none; }
.finding { font-weight: 600; } figure { margin: 1.5rem 0; } figure svg { max-width: 100%; height: auto; }
code, .params { font-family: ui-monospace, monospace; font-size: 12px; }
`;

function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<{ text: string; number?: boolean }>>): string {
  const head = `<tr>${header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr>`;
  const body = rows
    .map((row) => `<tr>${row.map((cell) => `<td${cell.number ? ' class="number"' : ''}>${escapeHtml(cell.text)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>\n${head}\n${body}\n</table>`;
}

function replicationSection(analysis: Analysis): string {
  if (analysis.replication.trustworthy) return '';
  const items = analysis.replication.problems.map(
    (problem) => `<li><strong>[${problem.kind}]</strong> ${escapeHtml(problem.message)}<br><code>${problem.files.map(escapeHtml).join('<br>')}</code></li>`,
  );
  return `<section class="warning" id="replication-warning"><h2>WARNING: replication problems</h2>
<p>These results are not as independent as their number suggests. Statistics count distinct seeds, not files.</p>
<ul>${items.join('\n')}</ul></section>`;
}

function summaryTable(analysis: Analysis): string {
  const rows = analysis.configurations.map((c) => [
    { text: `${c.experiment} ${c.version}` },
    { text: c.paramsDigest.slice(0, 12) },
    { text: c.presets.map((preset) => preset ?? 'defaults').join(', ') },
    { text: String(c.seeds.length), number: true },
    { text: String(c.results), number: true },
    { text: c.findings.join(' · ') || '–' },
  ]);
  return table(['experiment', 'params', 'preset', 'seeds', 'results', 'finding (mean ± 95% CI half-width)'], rows);
}

function metricsTable(configuration: ConfigurationAnalysis): string {
  const rows = configuration.metrics.map((m) => [
    { text: m.metric },
    { text: String(m.n), number: true },
    { text: formatNumber(m.mean), number: true },
    { text: m.sd === null ? '–' : formatNumber(m.sd), number: true },
    { text: m.ci95 ? `[${formatNumber(m.ci95[0])}, ${formatNumber(m.ci95[1])}]` : '–', number: true },
  ]);
  return table(['metric', 'n (seeds)', 'mean', 'sd', '95% CI'], rows);
}

async function figure(chart: Chart, group: ConfigurationGroup): Promise<string> {
  // The Vega-Lite spec, with its data, stays in the page beside the SVG so a plot can be re-made from the report alone.
  return `<figure class="plot" data-plot="${chart.kind}" data-experiment="${escapeHtml(group.experiment)}">
<h3>${escapeHtml(chart.title)}</h3>
${await renderSvg(chart.spec)}
<figcaption>${escapeHtml(chart.caption)}</figcaption>
<script type="application/json" class="vega-lite-spec">${scriptJson(chart.spec)}</script>
</figure>`;
}

async function configurationSection(group: ConfigurationGroup, configuration: ConfigurationAnalysis, index: number): Promise<string> {
  const figures = await Promise.all(chartsFor(group, configuration.metrics).map((chart) => figure(chart, group)));
  return `<section class="configuration" id="configuration-${index + 1}">
<h2>${escapeHtml(describeGroup(group))}</h2>
<p>${escapeHtml(configurationHeading(configuration))}</p>
${configuration.findings.map((line) => `<p class="finding">${escapeHtml(line)}</p>`).join('\n')}
<details><summary>params</summary><pre class="params">${escapeHtml(JSON.stringify(configuration.params, null, 2))}</pre></details>
${figures.join('\n')}
<details><summary>All ${configuration.metrics.length} metrics</summary>
${metricsTable(configuration)}
</details>
</section>`;
}

/**
 * One self-contained HTML file: plots rendered to SVG at build time (Vega-Lite compiled and rendered
 * by Vega in Node), styles inline, nothing loaded from anywhere when it is opened.
 */
export async function buildReport(groups: readonly ConfigurationGroup[], analysis: Analysis, generatedAt = new Date()): Promise<string> {
  const sections = await Promise.all(groups.map((group, index) => configurationSection(group, analysis.configurations[index]!, index)));
  const results = analysis.configurations.reduce((sum, c) => sum + c.results, 0);
  const skipped = analysis.skipped.length
    ? `<details><summary>${analysis.skipped.length} file(s) skipped</summary><ul>${analysis.skipped.map((file) => `<li>${escapeHtml(file.message)}</li>`).join('')}</ul></details>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Axiom results</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Axiom results</h1>
<p class="meta">${results} result(s) in ${groups.length} configuration(s); generated ${escapeHtml(generatedAt.toISOString())} by axiom ${escapeHtml(WORKER_VERSION)}.
Statistics are across distinct seeds; intervals are 95% confidence intervals of the mean (t-distribution).</p>
${replicationSection(analysis)}
<h2>Summary</h2>
${summaryTable(analysis)}
${skipped}
${sections.join('\n')}
</body>
</html>
`;
}
