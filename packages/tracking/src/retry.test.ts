import { describe, expect, it } from 'vitest';
import { backoffDelay, isConnectionError, parseRetryAfter, sleep, RetryAbortedError } from './retry';

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(['0.5'])).toBe(500);
  });
  it('reads an HTTP date relative to now', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });
  it('gives undefined for missing or unreadable values', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
  it('is full jitter under a doubling ceiling', () => {
    expect(backoffDelay(1, policy, undefined, () => 0.999)).toBe(100);
    expect(backoffDelay(3, policy, undefined, () => 0.999)).toBe(400);
    expect(backoffDelay(3, policy, undefined, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, undefined, () => 0.5)).toBe(200);
  });
  it('never exceeds maxDelayMs, even after many failures', () => {
    for (let attempt = 1; attempt < 200; attempt++) expect(backoffDelay(attempt, policy, undefined, () => 0.999)).toBeLessThanOrEqual(1000);
  });
  it('follows Retry-After, capped at maxDelayMs', () => {
    expect(backoffDelay(1, policy, 700)).toBe(700);
    expect(backoffDelay(1, policy, 60_000)).toBe(1000);
  });
});

describe('isConnectionError', () => {
  it('finds the code through causes and AggregateError', () => {
    expect(isConnectionError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(new Error('fetch failed', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) }))).toBe(true);
    expect(isConnectionError(Object.assign(new AggregateError([Object.assign(new Error('z'), { code: 'ECONNRESET' })]), {}))).toBe(true);
    expect(isConnectionError(new TypeError('bad'))).toBe(false);
  });
});

describe('sleep', () => {
  it('stops early on abort', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = sleep(10_000, ac.signal, new Error('last'));
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(RetryAbortedError);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
