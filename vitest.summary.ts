import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain "N passed, N failed, N skipped" line that any CI log reader understands,
 * after the list of what was skipped and why (a test needing a missing system package says so in its
 * name; see test-support/system-dependency.ts).
 */
export default class SummaryLine implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const skipped: string[] = [];
    // A file that fails before its tests run (e.g. a system dependency missing on CI) has no test to count.
    const unloaded = testModules.filter((module) => module.errors().length > 0).map((module) => `  ${module.relativeModuleId}: ${module.errors()[0]!.message}`);
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') counts.passed++;
        else if (result.state === 'failed') counts.failed++;
        else {
          counts.skipped++;
          const note = result.state === 'skipped' && result.note ? ` [${result.note}]` : '';
          skipped.push(`  ${module.relativeModuleId} > ${test.fullName}${note}`);
        }
      }
    }
    if (skipped.length) process.stdout.write(`\nskipped:\n${skipped.join('\n')}\n`);
    if (unloaded.length) process.stdout.write(`\nfiles that failed to load:\n${unloaded.join('\n')}\n`);
    const files = unloaded.length ? `, ${unloaded.length} file(s) failed to load` : '';
    process.stdout.write(`\nvitest: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${files}\n`);
  }
}
