import { AxiomError, ExitCode } from '@axiom/runner/host';
import { analyze, formatAnalysisCsv, formatAnalysisTable, type Analysis } from './analyze.js';
import { replicationWarningLines } from './replication.js';
import { groupByConfiguration, loadResults, type ConfigurationGroup } from './result-set.js';

/**
 * Reads and analyses result files for analyze and report. Replication problems go to stderr first, in a
 * WARNING block, then a line per skipped file. Throws a usage error when no complete result was found.
 */
export async function loadAnalysis(paths: readonly string[]): Promise<{ groups: ConfigurationGroup[]; analysis: Analysis }> {
  const { records, skipped } = await loadResults(paths);
  const groups = groupByConfiguration(records);
  const analysis = analyze(groups, skipped);
  const lines = [...replicationWarningLines(analysis.replication.problems), ...skipped.map((file) => `axiom: warning: skipped: ${file.message}`)];
  if (lines.length) process.stderr.write(`${lines.join('\n')}\n`);
  if (records.length === 0) throw new AxiomError('usage', `no complete results found in ${paths.join(', ')}`);
  return { groups, analysis };
}

/** `axiom analyze <files or directories…> [--json | --csv]`. */
export async function analyzeCommand(paths: readonly string[], options: { json?: boolean; csv?: boolean }): Promise<number> {
  if (options.json && options.csv) throw new AxiomError('usage', 'choose one of --json and --csv');
  const { analysis } = await loadAnalysis(paths);
  const output = options.json ? JSON.stringify(analysis, null, 2) : options.csv ? formatAnalysisCsv(analysis) : formatAnalysisTable(analysis);
  process.stdout.write(`${output}\n`);
  return ExitCode.ok;
}
