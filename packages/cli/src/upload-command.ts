import {
  defaultHttpPolicy,
  ExitCode,
  flushSpool,
  type HttpPolicy,
  type HttpRequestOptions,
  type Result,
  uploadOrSpoolResult,
  userCacheDir,
} from '@axiom/runner/host';

/** `$AXIOM_SPOOL_DIR`, else the user cache's `spool`. */
export function defaultSpoolDir(env = process.env): string {
  return env.AXIOM_SPOOL_DIR || userCacheDir('spool', env);
}

const logRetry: HttpRequestOptions['onRetry'] = (error, delayMs, attempt) =>
  process.stderr.write(`axiom: upload: ${error.message}; retry ${attempt} in ${Math.round(delayMs)} ms\n`);

/** After `axiom run --upload URL` wrote its result: upload it, or spool it for `axiom upload --flush`. Returns one status line. */
export async function uploadOrSpool(result: Result, url: string, spoolDir = defaultSpoolDir(), policy: HttpPolicy = defaultHttpPolicy): Promise<string> {
  const outcome = await uploadOrSpoolResult(url, result, spoolDir, policy, logRetry);
  return outcome.delivered
    ? `uploaded result ${result.resultId} to ${url}`
    : `upload failed (${outcome.reason}); spooled as ${outcome.spooledAt}: deliver it later with \`axiom upload --flush ${url}\``;
}

/** `axiom upload --flush URL`: delivers every spooled result; exit 14 while any remain. */
export async function uploadFlushCommand(options: { url: string; spoolDir?: string; policy?: HttpPolicy }): Promise<number> {
  const spoolDir = options.spoolDir ?? defaultSpoolDir();
  const report = await flushSpool(spoolDir, options.url, options.policy ?? defaultHttpPolicy, logRetry);
  const remaining = report.kept.length + report.notAttempted.length;
  const lines = [
    `delivered ${report.delivered.length} result(s) from ${spoolDir} to ${options.url}; ${remaining} remain spooled`,
    ...report.kept.map((entry) => `  kept ${entry.file}: ${entry.reason}`),
    ...(report.notAttempted.length ? [`  not attempted after a transient failure: ${report.notAttempted.length} file(s); run the flush again later`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return remaining === 0 ? ExitCode.ok : ExitCode.uploadIncomplete;
}
