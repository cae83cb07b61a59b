import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher, errors as UndiciErrors } from 'undici';
import { errorMessage } from './errors.js';

/** Limits for one HTTP exchange and its retries. Every field is a bound: nothing here can hang forever. */
export interface HttpPolicy {
  connectTimeoutMs: number;
  /** Longest wait for the response headers: a server that accepts and then stalls. */
  headersTimeoutMs: number;
  /** Longest silence between two chunks of the body. */
  bodyTimeoutMs: number;
  /** Longest one attempt may take in all; the whole exchange is cut at this per attempt plus the longest backoffs. */
  attemptTimeoutMs: number;
  /** Retries after the first attempt, for network errors, 5xx and 429. */
  retries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxBytes: number;
  maxRedirections: number;
}

export const defaultHttpPolicy: HttpPolicy = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  attemptTimeoutMs: 120_000,
  retries: 4,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  maxBytes: 8 * 1024 * 1024,
  maxRedirections: 5,
};

/** A failed exchange: `transient` when retrying later may succeed (network, 5xx, 429), else permanent. */
export class HttpError extends Error {
  constructor(
    readonly url: string,
    message: string,
    readonly transient: boolean,
    readonly status?: number,
  ) {
    super(`${url}: ${message}`);
    this.name = 'HttpError';
  }
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Failures of the connection or of the server's timing, which a later attempt may not meet again. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

function isTransient(error: unknown): boolean {
  return (error as Error).name === 'TimeoutError' || TRANSIENT_CODES.has((error as { code?: string }).code ?? '');
}

function describeNetworkError(error: unknown, policy: HttpPolicy, undiciErrors: typeof UndiciErrors): string {
  if (error instanceof undiciErrors.HeadersTimeoutError) return `no response within ${policy.headersTimeoutMs} ms (server stalled)`;
  if (error instanceof undiciErrors.BodyTimeoutError) return `body stalled for ${policy.bodyTimeoutMs} ms`;
  if (error instanceof undiciErrors.ConnectTimeoutError) return `could not connect within ${policy.connectTimeoutMs} ms`;
  if ((error as Error).name === 'TimeoutError') return `the exchange took longer than ${exchangeTimeoutMs(policy)} ms`;
  const code = (error as { code?: string }).code;
  return code ? `${code} (${errorMessage(error)})` : errorMessage(error);
}

/** Any failure of an exchange as an HttpError: a status the server answered with, or what went wrong on the way. */
function httpErrorOf(url: string, error: unknown, policy: HttpPolicy, undiciErrors: typeof UndiciErrors): HttpError {
  if (error instanceof HttpError) return error;
  const status = (error as { statusCode?: number }).statusCode;
  if (error instanceof undiciErrors.RequestRetryError && status !== undefined) {
    // A 2xx here is a resumed body the server could not continue (no Range support, or the content changed): a later whole attempt may succeed.
    if (status < 300) return new HttpError(url, `the body was cut short and could not be resumed (${error.message})`, true, status);
    return new HttpError(url, `HTTP ${status}`, status >= 500 || status === 429, status);
  }
  return new HttpError(url, describeNetworkError(error, policy, undiciErrors), isTransient(error));
}

async function readCapped(body: Dispatcher.ResponseData['body'], url: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.on('error', () => {}).destroy();
      throw new HttpError(url, `response is larger than the ${maxBytes}-byte cap`, false);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface HttpRequestOptions {
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
  /** Called before each retry, e.g. to log it. */
  onRetry?(error: HttpError, delayMs: number, attempt: number): void;
}

/** Seconds or an HTTP date, capped by the policy; undefined when absent or unreadable. */
function retryAfterMs(header: string | string[] | undefined, policy: HttpPolicy): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), policy.backoffMaxMs) : undefined;
}

function backoffMs(attempt: number, policy: HttpPolicy): number {
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** attempt);
  return ceiling / 2 + randomInt(Math.max(1, Math.floor(ceiling / 2))); // "equal jitter"
}

const RETRIED_STATUSES = [429, ...Array.from({ length: 100 }, (_, i) => 500 + i)];

/** The longest a whole exchange may take: every attempt at its limit, with the longest backoff between them. */
const exchangeTimeoutMs = (policy: HttpPolicy) => (policy.retries + 1) * policy.attemptTimeoutMs + policy.retries * policy.backoffMaxMs;

/**
 * One HTTP exchange with bounded retries, by undici's retry interceptor: exponential backoff with jitter
 * on network errors, 5xx and 429 (honouring Retry-After); every other non-2xx status is permanent. A body
 * cut short is resumed with a Range request where the server allows it. Redirects are followed up to the
 * cap. Throws HttpError naming the URL and the cause.
 */
export async function httpRequest(url: string, options: HttpRequestOptions = {}, policy: HttpPolicy = defaultHttpPolicy): Promise<HttpResponse> {
  // Loaded at the first exchange, not at start: undici takes ~0.1 s to load, which every run and pool worker would pay.
  const { Agent, errors: undiciErrors, interceptors, request } = await import('undici');
  let attempts = 1;
  // undici's retry callback: decides whether and when the next attempt goes out (null: retry; an error: give up with it).
  const retry = (error: Error, { state }: { state: { counter: number } }, callback: (error: Error | null) => void) => {
    attempts = state.counter;
    const failure = httpErrorOf(url, error, policy, undiciErrors);
    if (!failure.transient || state.counter > policy.retries || options.signal?.aborted) return callback(error);
    const delay = retryAfterMs((error as UndiciErrors.RequestRetryError).headers?.['retry-after'], policy) ?? backoffMs(state.counter - 1, policy);
    options.onRetry?.(failure, delay, state.counter);
    attempts = state.counter + 1;
    sleep(delay, undefined, { signal: options.signal }).then(() => callback(null), callback);
  };
  const agent = new Agent({ connect: { timeout: policy.connectTimeoutMs }, headersTimeout: policy.headersTimeoutMs, bodyTimeout: policy.bodyTimeoutMs });
  const dispatcher = agent.compose(
    interceptors.redirect({ maxRedirections: policy.maxRedirections }),
    // Uploads retry too: they carry an idempotency key. Every 5xx and 429 reaches `retry`, which decides.
    interceptors.retry({ retry, methods: ['GET', 'POST', 'PUT'], statusCodes: RETRIED_STATUSES, maxRetries: policy.retries }),
  );
  const signal = AbortSignal.any([AbortSignal.timeout(exchangeTimeoutMs(policy)), ...(options.signal ? [options.signal] : [])]);
  try {
    const response = await request(url, { dispatcher, method: options.method ?? 'GET', headers: options.headers, body: options.body, signal });
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > policy.maxBytes) {
      response.body.on('error', () => {}).destroy(); // the abort it raises is the point, not news
      throw new HttpError(url, `response declares ${declared} bytes, over the ${policy.maxBytes}-byte cap`, false, response.statusCode);
    }
    const body = await readCapped(response.body, url, policy.maxBytes);
    if (response.statusCode >= 300 && response.statusCode < 400) {
      throw new HttpError(url, `still redirected (HTTP ${response.statusCode}) after ${policy.maxRedirections} redirects`, false, response.statusCode);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) throw new HttpError(url, `HTTP ${response.statusCode}`, false, response.statusCode);
    return { status: response.statusCode, headers: response.headers, body };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const failure = httpErrorOf(url, error, policy, undiciErrors);
    if (attempts > 1) failure.message += ` (after ${attempts} attempts)`;
    throw failure;
  } finally {
    await agent.close();
  }
}
