/**
 * Packing queued records into runs/log-batch requests within MLflow's limits
 * (mlflow/utils/validation.py: MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH,
 * MAX_ENTITIES_PER_BATCH, MAX_BATCH_LOG_REQUEST_SIZE).
 */
import { MLFLOW_LIMITS, sanitizeKey, truncateValue } from './flatten';
import { toMlflowJson, type MlflowMetric, type MlflowTag } from './mlflow-client';
import type { MetricsRecord, NewRecord, ParamsRecord, QueueRecord, TagsRecord } from './queue-file';

export interface BatchLimits {
  metrics: number;
  params: number;
  tags: number;
  /** Metrics, params and tags together. */
  entities: number;
  /** Bytes of the JSON body. MLflow allows 1 MB; we keep a margin for the envelope. */
  bytes: number;
}

export const MLFLOW_BATCH_LIMITS: BatchLimits = { metrics: 1000, params: 100, tags: 100, entities: 1000, bytes: 950_000 };

/** One runs/log-batch body and the queue records it completes. */
export interface PlannedBatch {
  metrics: MlflowMetric[];
  params: MlflowTag[];
  tags: MlflowTag[];
  /** The records it carries, in queue order. */
  records: QueueRecord[];
  bytes: number;
}

type LoggableRecord = MetricsRecord | ParamsRecord | TagsRecord;

export function isLoggable(record: QueueRecord): record is LoggableRecord {
  return record.t === 'metrics' || record.t === 'params' || record.t === 'tags';
}

function entriesOf(record: LoggableRecord): { metrics: MlflowMetric[]; params: MlflowTag[]; tags: MlflowTag[] } {
  if (record.t === 'metrics') {
    return { metrics: Object.entries(record.metrics).map(([key, value]) => ({ key, value, timestamp: record.ts, step: record.step })), params: [], tags: [] };
  }
  if (record.t === 'params') return { metrics: [], params: Object.entries(record.params).map(([key, value]) => ({ key, value })), tags: [] };
  return { metrics: [], params: [], tags: Object.entries(record.tags).map(([key, value]) => ({ key, value })) };
}

const bytesOf = (entry: unknown): number => Buffer.byteLength(toMlflowJson(entry)) + 1;

/**
 * The next request from the head of `pending`: as many whole loggable records
 * as fit. Stops before an artifact or status record, and before a record that
 * repeats a param or tag key already in the request (a batch must not name a
 * param twice, and a tag's last value must win). Returns undefined when the
 * head is not loggable. Records are split at enqueue time
 * ({@link splitRecord}) so that any one of them fits a request alone.
 */
export function planBatch(pending: readonly QueueRecord[], limits: BatchLimits = MLFLOW_BATCH_LIMITS): PlannedBatch | undefined {
  const batch: PlannedBatch = { metrics: [], params: [], tags: [], records: [], bytes: 100 };
  const paramKeys = new Set<string>();
  const tagKeys = new Set<string>();
  for (const record of pending) {
    if (!isLoggable(record)) break;
    const e = entriesOf(record);
    const bytes = [...e.metrics, ...e.params, ...e.tags].reduce((n, x) => n + bytesOf(x), 0);
    const fits =
      batch.metrics.length + e.metrics.length <= limits.metrics &&
      batch.params.length + e.params.length <= limits.params &&
      batch.tags.length + e.tags.length <= limits.tags &&
      batch.metrics.length + batch.params.length + batch.tags.length + e.metrics.length + e.params.length + e.tags.length <= limits.entities &&
      batch.bytes + bytes <= limits.bytes &&
      !e.params.some((p) => paramKeys.has(p.key)) &&
      !e.tags.some((t) => tagKeys.has(t.key));
    if (!fits && batch.records.length > 0) break;
    // A lone record that still does not fit is sent as it is; the server's
    // answer (a 400) then puts it among the rejected records, not in a loop.
    batch.metrics.push(...e.metrics);
    batch.params.push(...e.params);
    batch.tags.push(...e.tags);
    for (const p of e.params) paramKeys.add(p.key);
    for (const t of e.tags) tagKeys.add(t.key);
    batch.records.push(record);
    batch.bytes += bytes;
    if (!fits) break;
  }
  return batch.records.length === 0 ? undefined : batch;
}

function chunk<T>(items: T[], size: number, bytesLimit: number, bytes: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let currentBytes = 100;
  for (const item of items) {
    const b = bytes(item);
    if (current.length > 0 && (current.length >= size || currentBytes + b > bytesLimit)) {
      out.push(current);
      current = [];
      currentBytes = 100;
    }
    current.push(item);
    currentBytes += b;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Cleans a record's names and values (keys MLflow accepts, tag values within
 * the limit) and splits it into records that each fit one request.
 */
export function splitRecord(record: NewRecord, limits: BatchLimits = MLFLOW_BATCH_LIMITS): NewRecord[] {
  if (record.t === 'metrics') {
    const entries = Object.entries(record.metrics).map(([k, v]) => [sanitizeKey(k), v] as const);
    const est = ([key, value]: readonly [string, number]) => bytesOf({ key, value, timestamp: record.ts, step: record.step });
    return chunk(entries, Math.min(limits.metrics, limits.entities), limits.bytes, est).map((part) => ({ ...record, metrics: Object.fromEntries(part) }));
  }
  if (record.t === 'params' || record.t === 'tags') {
    const source = record.t === 'params' ? record.params : record.tags;
    const max = record.t === 'params' ? MLFLOW_LIMITS.paramValueLength : MLFLOW_LIMITS.tagValueLength;
    const entries = Object.entries(source).map(([k, v]) => [sanitizeKey(k), truncateValue(v, max)] as const);
    const est = ([key, value]: readonly [string, string]) => bytesOf({ key, value });
    const parts = chunk(entries, record.t === 'params' ? limits.params : limits.tags, limits.bytes, est);
    return parts.map((part) => (record.t === 'params' ? { t: 'params', params: Object.fromEntries(part) } : { t: 'tags', tags: Object.fromEntries(part) }));
  }
  return [record];
}
