import { findingLines, numericLeaves } from './findings.js';
import { replicationProblems, type ReplicationProblem } from './replication.js';
import { describeGroup, type Configuration, type ConfigurationGroup, type SkippedFile } from './result-set.js';
import { formatNumber, summarize, type Summary } from './statistics.js';

export interface MetricSummary extends Summary {
  /** Path of a numeric leaf of the headline metrics, e.g. `byLevel.0.2.testAccuracy` (array items by index). */
  metric: string;
}

export interface ConfigurationAnalysis extends Configuration {
  /** Result files read for this configuration; `seeds` are the distinct seeds among them, the real count. */
  results: number;
  seeds: number[];
  findings: string[];
  metrics: MetricSummary[];
}

export interface Analysis {
  replication: { trustworthy: boolean; problems: ReplicationProblem[] };
  skipped: SkippedFile[];
  configurations: ConfigurationAnalysis[];
}

/** Per metric, one value per distinct seed: a result repeated under the same seed is not another observation. */
export function summarizeMetrics(group: ConfigurationGroup): MetricSummary[] {
  const valuesByMetric = new Map<string, number[]>();
  for (const { result } of group.replicates) {
    for (const [metric, value] of numericLeaves(result.metrics)) {
      const values = valuesByMetric.get(metric);
      if (values) values.push(value);
      else valuesByMetric.set(metric, [value]);
    }
  }
  return [...valuesByMetric].map(([metric, values]) => ({ metric, ...summarize(values) }));
}

export function analyzeConfiguration(group: ConfigurationGroup): ConfigurationAnalysis {
  const metrics = summarizeMetrics(group);
  const { records, replicates, ...configuration } = group;
  return {
    ...configuration,
    results: records.length,
    seeds: replicates.map((record) => record.result.seed.value).sort((a, b) => a - b),
    findings: findingLines(group, new Map(metrics.map((summary) => [summary.metric, summary]))),
    metrics,
  };
}

export function analyze(groups: readonly ConfigurationGroup[], skipped: SkippedFile[]): Analysis {
  const problems = replicationProblems(groups);
  // Configurations are in the order of the groups: the report pairs them by index.
  return { replication: { trustworthy: problems.length === 0, problems }, skipped, configurations: groups.map(analyzeConfiguration) };
}

/** Columns padded to their widest cell; numeric columns aligned right. */
export function alignedTable(rows: readonly string[][], rightAligned: readonly boolean[]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (rightAligned[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}

const formatInterval = (summary: Summary) => (summary.ci95 ? `[${formatNumber(summary.ci95[0])}, ${formatNumber(summary.ci95[1])}]` : '–');

export function configurationHeading(configuration: ConfigurationAnalysis): string {
  const presets = configuration.presets.map((preset) => preset ?? 'defaults').join(', ');
  return `${describeGroup(configuration)} (preset ${presets}): ${configuration.seeds.length} distinct seed(s) in ${configuration.results} result(s)`;
}

/** The terminal form: per configuration, its heading, its finding and an aligned table of every metric. */
export function formatAnalysisTable(analysis: Analysis): string {
  const blocks = analysis.configurations.map((configuration) => {
    const rows = [
      ['metric', 'n', 'mean', 'sd', '95% CI'],
      ...configuration.metrics.map((summary) => [
        summary.metric,
        String(summary.n),
        formatNumber(summary.mean),
        summary.sd === null ? '–' : formatNumber(summary.sd),
        formatInterval(summary),
      ]),
    ];
    return [
      `== ${configurationHeading(configuration)}`,
      ...(configuration.findings.length ? ['finding (mean ± 95% CI half-width across seeds):', ...configuration.findings.map((line) => `  ${line}`)] : []),
      ...alignedTable(rows, [false, true, true, true, false]).map((line) => `  ${line}`),
    ].join('\n');
  });
  return blocks.length ? blocks.join('\n\n') : 'no complete results to analyze';
}

const csvCell = (value: string | number | null) => {
  const text = value === null ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** One row per configuration and metric, full precision. */
export function formatAnalysisCsv(analysis: Analysis): string {
  const header = ['experiment', 'version', 'scriptSha256', 'paramsDigest', 'presets', 'seeds', 'results', 'metric', 'n', 'mean', 'sd', 'ci95Low', 'ci95High'];
  const rows = analysis.configurations.flatMap((c) =>
    c.metrics.map((m) => [
      c.experiment,
      c.version,
      c.scriptSha256 ?? null,
      c.paramsDigest,
      c.presets.map((p) => p ?? 'defaults').join('|'),
      c.seeds.length,
      c.results,
      m.metric,
      m.n,
      m.mean,
      m.sd,
      m.ci95?.[0] ?? null,
      m.ci95?.[1] ?? null,
    ]),
  );
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n');
}
