import { writeFile } from 'node:fs/promises';
import { ExitCode } from '@axiom/runner/host';
import { loadAnalysis } from './analyze-command.js';
import { buildReport } from './report.js';

/** `axiom report <files or directories…> -o report.html`. */
export async function reportCommand(paths: readonly string[], options: { out: string }): Promise<number> {
  const { groups, analysis } = await loadAnalysis(paths);
  await writeFile(options.out, await buildReport(groups, analysis));
  process.stdout.write(
    `wrote ${options.out}: ${analysis.configurations.length} configuration(s)${analysis.replication.trustworthy ? '' : ', with a replication WARNING'}\n`,
  );
  return ExitCode.ok;
}
