import type { Command } from 'commander';
import { analyzeCommand } from './analyze-command.js';
import { uploadFlushCommand } from './upload-command.js';

const PATHS_HELP = 'result files, or directories searched recursively for *.json';

/** Registers `analyze`, `report` and `upload --flush`: the commands for researchers who collect results. */
export function addResultsCommands(axiom: Command): Command {
  axiom
    .command('analyze')
    .description(
      'per experiment, version and params: n = distinct seeds, mean, sd and 95% CI of every metric, and the headline finding; replication problems first',
    )
    .argument('<paths...>', PATHS_HELP)
    .option('--json', 'machine-readable output (replication.trustworthy is false when anything was flagged)')
    .option('--csv', 'one row per configuration and metric')
    .action(async (paths: string[], options: { json?: boolean; csv?: boolean }) => {
      process.exitCode = await analyzeCommand(paths, options);
    });

  axiom
    .command('report')
    .description('write one self-contained HTML report: learning curves with seed bands, scaling fits, findings by width or level, a summary table')
    .argument('<paths...>', PATHS_HELP)
    .requiredOption('-o, --out <file>', 'the HTML file to write')
    .action(async (paths: string[], options: { out: string }) => {
      // Loaded here, not at start: its charting libraries (Vega) take about 0.35 s to load, which every
      // other command, a pool worker and the BOINC app would pay at each start.
      const { reportCommand } = await import('./report-command.js');
      process.exitCode = await reportCommand(paths, options);
    });

  axiom
    .command('upload')
    .description('deliver the results `axiom run --upload` spooled because the server could not be reached (exit 14 while any remain)')
    .requiredOption('--flush <url>', 'the collection URL to POST each spooled result to')
    .option('--spool-dir <dir>', 'the spool directory (default: $AXIOM_SPOOL_DIR or ~/.cache/axiom/spool)')
    .action(async (options: { flush: string; spoolDir?: string }) => {
      process.exitCode = await uploadFlushCommand({ url: options.flush, spoolDir: options.spoolDir });
    });
  return axiom;
}
