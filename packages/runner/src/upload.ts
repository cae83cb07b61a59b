import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from './errors.js';
import { writeJsonAtomic } from './files.js';
import { defaultHttpPolicy, HttpError, httpRequest, type HttpPolicy, type HttpRequestOptions } from './http.js';
import { describeZodError } from './params.js';
import { resultSchema, type Result } from './schemas.js';

/**
 * Delivery of results to a collection server outside BOINC. The result id is the idempotency key, so
 * a retry after a lost response is stored once; and a spooled result is one file named by that id, so
 * spooling it again replaces it instead of adding a second copy.
 */

/**
 * POSTs the result JSON with `Idempotency-Key: <resultId>`, retrying transient failures with backoff
 * (`httpRequest`). Resolves on a 2xx; throws HttpError otherwise.
 */
export async function uploadResult(
  url: string,
  result: Result,
  policy: HttpPolicy = defaultHttpPolicy,
  onRetry?: HttpRequestOptions['onRetry'],
): Promise<void> {
  await httpRequest(
    url,
    { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': result.resultId }, body: JSON.stringify(result), onRetry },
    policy,
  );
}

const SPOOL_SUFFIX = '.json';

/** Writes the result atomically into the spool directory (created if needed); returns the file's path. */
export async function spoolResult(dir: string, result: Result): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${result.resultId}${SPOOL_SUFFIX}`);
  await writeJsonAtomic(path, result);
  return path;
}

export type DeliveryOutcome = { delivered: true } | { delivered: false; spooledAt: string; reason: string };

/** Uploads the result, or spools it when the upload fails for whatever reason, so it is never lost. */
export async function uploadOrSpoolResult(
  url: string,
  result: Result,
  spoolDir: string,
  policy: HttpPolicy = defaultHttpPolicy,
  onRetry?: HttpRequestOptions['onRetry'],
): Promise<DeliveryOutcome> {
  try {
    await uploadResult(url, result, policy, onRetry);
    return { delivered: true };
  } catch (error) {
    return { delivered: false, spooledAt: await spoolResult(spoolDir, result), reason: errorMessage(error) };
  }
}

export interface FlushReport {
  /** Result ids delivered (2xx) and removed from the spool. */
  delivered: string[];
  /** Spooled files that stay for a later flush, with why. */
  kept: Array<{ file: string; reason: string }>;
  /** Files not attempted because the server failed transiently after its retries: it is down or overloaded. */
  notAttempted: string[];
}

/** The spooled result files, in name order; write-file-atomic's temporary files never end in `.json`. */
async function spooledFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir))
      .filter((name) => name.endsWith(SPOOL_SUFFIX))
      .sort()
      .map((name) => join(dir, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function readSpooled(file: string): Promise<Result> {
  const parsed = resultSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) throw new Error(`not a valid result: ${describeZodError(parsed.error, resultSchema)}`);
  return parsed.data;
}

/**
 * Delivers every spooled result, deleting each file only after the server answered 2xx. A file that
 * cannot be read or is refused (4xx) is kept and reported, never deleted. After a transient failure
 * that outlasted the retries the flush stops: the rest stays spooled for the next flush.
 */
export async function flushSpool(
  dir: string,
  url: string,
  policy: HttpPolicy = defaultHttpPolicy,
  onRetry?: HttpRequestOptions['onRetry'],
): Promise<FlushReport> {
  const report: FlushReport = { delivered: [], kept: [], notAttempted: [] };
  const files = await spooledFiles(dir);
  for (const [index, file] of files.entries()) {
    let result: Result;
    try {
      result = await readSpooled(file);
    } catch (error) {
      report.kept.push({ file, reason: errorMessage(error) });
      continue;
    }
    try {
      await uploadResult(url, result, policy, onRetry);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      report.kept.push({ file, reason: error.message });
      if (error.transient) {
        report.notAttempted.push(...files.slice(index + 1));
        break;
      }
      continue;
    }
    // A concurrent flush may have delivered and removed it first: the server stored it once either way.
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    report.delivered.push(result.resultId);
  }
  return report;
}
