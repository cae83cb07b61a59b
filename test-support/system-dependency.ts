/**
 * A system package a test drives for real (the BOINC client, Chromium, root for tmpfs mounts). On CI
 * (CI=true, where .ci/run installs them) a missing one fails the run, naming it; on a developer machine
 * the tests that need it are skipped, and their names say what is missing, which the run's summary lists.
 *
 *   const boinc = systemDependency('boinc-client', existsSync(BOINC) ? undefined : `${BOINC} is absent (apt-get install boinc-client)`);
 *   describe.skipIf(boinc.missing)(`under the real BOINC client${boinc.note}`, …)
 */
export function systemDependency(name: string, problem: string | undefined): { missing: boolean; note: string } {
  if (problem === undefined) return { missing: false, note: '' };
  if (process.env.CI === 'true') throw new Error(`system dependency ${name} is missing on CI: ${problem}`);
  return { missing: true, note: ` [skipped: needs ${name}: ${problem}]` };
}
