import { describe, expect, it } from 'vitest';
import { MLFLOW_BATCH_LIMITS, planBatch, splitRecord } from './batching';
import type { NewRecord, QueueRecord } from './queue-file';

const number = (records: NewRecord[]): QueueRecord[] => records.map((r, i) => ({ id: i + 1, ...r }) as QueueRecord);

describe('splitRecord', () => {
  it('splits a step with 2500 metrics into requests of at most 1000', () => {
    const metrics = Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`m${i}`, i]));
    const parts = splitRecord({ t: 'metrics', step: 3, ts: 1, metrics });
    expect(parts.map((p) => Object.keys((p as { metrics: object }).metrics).length)).toEqual([1000, 1000, 500]);
    const seen = parts.flatMap((p) => Object.keys((p as { metrics: object }).metrics));
    expect(new Set(seen).size).toBe(2500);
  });

  it('splits 250 params into chunks of 100 and truncates long values', () => {
    const params = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`p${i}`, i === 7 ? 'x'.repeat(9000) : String(i)]));
    const parts = splitRecord({ t: 'params', params }) as { params: Record<string, string> }[];
    expect(parts.map((p) => Object.keys(p.params).length)).toEqual([100, 100, 50]);
    expect(parts[0]!.params.p7!.length).toBe(6000);
  });

  it('splits by bytes when values are large', () => {
    const tags = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, 'v'.repeat(3000)]));
    const parts = splitRecord({ t: 'tags', tags }, { ...MLFLOW_BATCH_LIMITS, bytes: 10_000 });
    expect(parts.length).toBeGreaterThanOrEqual(4);
    for (const p of parts) expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThan(10_000);
  });

  it('cleans metric names the server would refuse', () => {
    const [part] = splitRecord({ t: 'metrics', step: 0, ts: 0, metrics: { 'fid@1k': 1 } });
    expect(Object.keys((part as { metrics: object }).metrics)).toEqual(['fid_1k']);
  });
});

describe('planBatch', () => {
  it('packs consecutive records up to the limits and stops at an artifact', () => {
    const records = number([
      { t: 'metrics', step: 1, ts: 1, metrics: { a: 1, b: 2 } },
      { t: 'metrics', step: 2, ts: 2, metrics: { a: 1, b: 2 } },
      { t: 'tags', tags: { x: '1' } },
      { t: 'artifact', localPath: '/x', artifactPath: 'x' },
      { t: 'metrics', step: 3, ts: 3, metrics: { a: 1 } },
    ]);
    const batch = planBatch(records)!;
    expect(batch.records.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(batch.metrics).toHaveLength(4);
    expect(batch.tags).toEqual([{ key: 'x', value: '1' }]);
    expect(planBatch(records.slice(3))).toBeUndefined();
  });

  it('never puts more than 1000 metrics in one request', () => {
    const records = number(Array.from({ length: 30 }, (_, step) => ({ t: 'metrics', step, ts: step, metrics: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i])) })));
    const first = planBatch(records)!;
    expect(first.metrics.length).toBe(1000);
    expect(first.records.length).toBe(10);
  });

  it('cuts before a repeated tag key so the last value wins', () => {
    const records = number([
      { t: 'tags', tags: { phase: 'a' } },
      { t: 'tags', tags: { phase: 'b' } },
    ]);
    expect(planBatch(records)!.records.map((r) => r.id)).toEqual([1]);
  });

  it('keeps requests under the byte limit', () => {
    const records = number(Array.from({ length: 5 }, (_, i) => ({ t: 'tags', tags: { [`k${i}`]: 'v'.repeat(4000) } })));
    const batch = planBatch(records, { ...MLFLOW_BATCH_LIMITS, bytes: 10_000 })!;
    expect(batch.records.length).toBe(2);
  });
});
