/**
 * When and how long to wait before trying an MLflow request again.
 *
 * Retries use exponential backoff with full jitter (a random wait between 0
 * and the capped exponential), so many runs that lost the same server don't
 * come back in lockstep. A server's Retry-After overrides the computed wait.
 */

/** How a request is retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. `Infinity` retries until `signal` aborts. @default 6 */
  maxAttempts: number;
  /** The first backoff step. @default 250 */
  baseDelayMs: number;
  /** The cap on any one wait (Retry-After included). @default 10000 */
  maxDelayMs: number;
  /** Stops retrying (and waiting) when aborted. */
  signal?: AbortSignal;
  /** Told of each failed attempt that will be retried, with the wait before the next. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 10_000 };

/** HTTP statuses worth another try: timeouts, throttling and server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The error code of a network failure, looking through `cause` and AggregateError. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      const inner = networkErrorCode(errors[0]);
      if (inner) return inner;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether an error is a connection failure (refused, reset, timed out) rather than an answer. */
export function isConnectionError(error: unknown): boolean {
  return networkErrorCode(error) !== undefined;
}

/**
 * The wait a Retry-After header asks for, in milliseconds: either delay-seconds
 * or an HTTP date (RFC 9110 §10.2.3). Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): full jitter
 * over min(maxDelay, base * 2^(attempt-1)), or the server's Retry-After when
 * it gave one (capped at maxDelay too, so one bad header can't stall a run).
 */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(policy.maxDelayMs, retryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(random() * ceiling);
}

/** Thrown when a wait is cut short by the policy's signal. */
export class RetryAbortedError extends Error {
  override readonly name = 'RetryAbortedError';
  constructor(readonly lastError: unknown) {
    super(`retries stopped: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }
}

/** Resolves after `ms`, or rejects early with RetryAbortedError when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal, lastError?: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new RetryAbortedError(lastError ?? signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new RetryAbortedError(lastError ?? signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
