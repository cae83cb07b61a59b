import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, errors as undiciErrors, interceptors, request, type Dispatcher } from 'undici';
import { errorMessage } from './errors.js';

/** Limits for one HTTP exchange and its retries. Every field is a bound: nothing here can hang forever. */
export interface HttpPolicy {
  connectTimeoutMs: number;
  /** Longest wait for the response headers: a server that accepts and then stalls. */
  headersTimeoutMs: number;
  /** Longest silence between two chunks of the body. */
  bodyTimeoutMs: number;
  /** Longest one attempt may take in all. */
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

/** Failures of the connection or of the server's timing, which a later attempt may not meet again. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

function isTransient(error: unknown): boolean {
  return (error as Error).name === 'TimeoutError' || TRANSIENT_CODES.has((error as { code?: string }).code ?? '');
}

function describeNetworkError(error: unknown, policy: HttpPolicy): string {
  if (error instanceof undiciErrors.HeadersTimeoutError) return `no response within ${policy.headersTimeoutMs} ms (server stalled)`;
  if (error instanceof undiciErrors.BodyTimeoutError) return `body stalled for ${policy.bodyTimeoutMs} ms`;
  if (error instanceof undiciErrors.ConnectTimeoutError) return `could not connect within ${policy.connectTimeoutMs} ms`;
  if ((error as Error).name === 'TimeoutError') return `attempt took longer than ${policy.attemptTimeoutMs} ms`;
  const code = (error as { code?: string }).code;
  return code ? `${code} (${errorMessage(error)})` : errorMessage(error);
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

async function attempt(url: string, options: HttpRequestOptions, policy: HttpPolicy, dispatcher: Dispatcher): Promise<HttpResponse> {
  const signals = [AbortSignal.timeout(policy.attemptTimeoutMs), ...(options.signal ? [options.signal] : [])];
  const response = await request(url, {
    dispatcher,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    signal: AbortSignal.any(signals),
  });
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > policy.maxBytes) {
    response.body.on('error', () => {}).destroy(); // the abort it raises is the point, not news
    throw new HttpError(url, `response declares ${declared} bytes, over the ${policy.maxBytes}-byte cap`, false, response.statusCode);
  }
  return { status: response.statusCode, headers: response.headers, body: await readCapped(response.body, url, policy.maxBytes) };
}

export interface HttpRequestOptions {
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
  /** Called before each retry, e.g. to log it. */
  onRetry?(error: HttpError, delayMs: number, attempt: number): void;
}

/**
 * One HTTP exchange with bounded retries: exponential backoff with jitter on network errors, 5xx and
 * 429 (honouring Retry-After); every other non-2xx status is permanent. Redirects are followed up to
 * the cap. Throws HttpError naming the URL and the cause.
 */
export async function httpRequest(url: string, options: HttpRequestOptions = {}, policy: HttpPolicy = defaultHttpPolicy): Promise<HttpResponse> {
  const agent = new Agent({ connect: { timeout: policy.connectTimeoutMs }, headersTimeout: policy.headersTimeoutMs, bodyTimeout: policy.bodyTimeoutMs });
  const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: policy.maxRedirections }));
  try {
    for (let attemptIndex = 0; ; attemptIndex++) {
      let failure: HttpError;
      let delay: number | undefined;
      try {
        const response = await attempt(url, options, policy, dispatcher);
        if (response.status >= 200 && response.status < 300) return response;
        if (response.status >= 300 && response.status < 400) {
          throw new HttpError(url, `still redirected (HTTP ${response.status}) after ${policy.maxRedirections} redirects`, false, response.status);
        }
        const transient = response.status >= 500 || response.status === 429;
        failure = new HttpError(url, `HTTP ${response.status}`, transient, response.status);
        delay = retryAfterMs(response.headers['retry-after'], policy);
      } catch (error) {
        if (error instanceof HttpError) throw error;
        if (options.signal?.aborted) throw error;
        failure = new HttpError(url, describeNetworkError(error, policy), isTransient(error));
      }
      if (!failure.transient || attemptIndex >= policy.retries) {
        if (attemptIndex > 0) failure.message += ` (after ${attemptIndex + 1} attempts)`;
        throw failure;
      }
      delay ??= backoffMs(attemptIndex, policy);
      options.onRetry?.(failure, delay, attemptIndex + 1);
      await sleep(delay, undefined, { signal: options.signal });
    }
  } finally {
    await agent.close();
  }
}
