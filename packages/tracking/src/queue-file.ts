/**
 * The durable side of the MLflow queue: an append-only JSONL file of every
 * record the tracker was given, plus a cursor file holding the id of the last
 * record the server acknowledged. Replaying everything after the cursor is
 * safe even if the cursor lags: MLflow drops exact duplicate metrics, accepts
 * a param logged again with the same value, and tags and artifacts overwrite.
 *
 * Lines are written as they come (a process crash loses nothing) and fsync'd
 * in batches, at most `syncIntervalMs` apart (an OS crash loses at most that).
 */
import { closeSync, existsSync, fsync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { toMlflowJson, fromMlflowNumber } from './mlflow-client';

/** Metrics of one step. */
export interface MetricsRecord {
  id: number;
  t: 'metrics';
  step: number;
  /** Epoch milliseconds. */
  ts: number;
  metrics: Record<string, number>;
}
export interface ParamsRecord {
  id: number;
  t: 'params';
  params: Record<string, string>;
}
export interface TagsRecord {
  id: number;
  t: 'tags';
  tags: Record<string, string>;
}
/** A file or folder to upload, read from disk when it is sent. */
export interface ArtifactRecord {
  id: number;
  t: 'artifact';
  localPath: string;
  artifactPath: string;
}
/** A run status change: the end of a run, or RUNNING again when a run resumes. */
export interface StatusRecord {
  id: number;
  t: 'status';
  status: 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';
  endTime?: number;
}
export type QueueRecord = MetricsRecord | ParamsRecord | TagsRecord | ArtifactRecord | StatusRecord;
/** A record before the queue numbers it. */
export type NewRecord = QueueRecord extends infer R ? (R extends QueueRecord ? Omit<R, 'id'> : never) : never;

/** Where the MLflow tracker keeps its files inside a run directory. */
export function trackingPaths(runDir: string) {
  const dir = join(runDir, 'tracking');
  return {
    dir,
    queue: join(dir, 'mlflow-queue.jsonl'),
    cursor: join(dir, 'mlflow-queue.cursor'),
    run: join(dir, 'mlflow-run.json'),
    rejected: join(dir, 'mlflow-rejected.jsonl'),
    lock: join(dir, 'mlflow.lock'),
  };
}

function reviveRecord(raw: unknown): QueueRecord | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const r = raw as QueueRecord;
  if (typeof r.id !== 'number' || typeof r.t !== 'string') return undefined;
  if (r.t === 'metrics') {
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.metrics ?? {})) metrics[k] = fromMlflowNumber(v);
    return { ...r, metrics };
  }
  return r;
}

/**
 * Reads a queue file. A torn last line (the process died mid-write) is
 * skipped; so is anything else that does not parse, which is counted.
 */
export function readQueueFile(path: string): { records: QueueRecord[]; unreadable: number } {
  if (!existsSync(path)) return { records: [], unreadable: 0 };
  const records: QueueRecord[] = [];
  let unreadable = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = reviveRecord(JSON.parse(line));
      if (record) records.push(record);
      else unreadable++;
    } catch {
      unreadable++;
    }
  }
  return { records, unreadable };
}

/** The id of the last acknowledged record (0 when none). */
export function readCursor(path: string): number {
  if (!existsSync(path)) return 0;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { acked?: unknown };
    return typeof parsed.acked === 'number' ? parsed.acked : 0;
  } catch {
    return 0;
  }
}

/** Atomic small-file write: a crash leaves the old or the new content, never half. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Appends records to the queue file and moves the cursor. */
export class DurableQueue {
  private fd: number | undefined;
  private nextId: number;
  private dirty = false;
  private syncing = false;
  private timer: NodeJS.Timeout | undefined;
  private ackedId: number;

  /**
   * @param lastId - the highest id already in the file (new records follow it).
   * @param ackedId - the cursor read from disk.
   */
  constructor(
    readonly queuePath: string,
    readonly cursorPath: string,
    lastId: number,
    ackedId: number,
    private readonly syncIntervalMs = 1000,
  ) {
    this.nextId = lastId + 1;
    this.ackedId = ackedId;
    this.fd = openSync(queuePath, 'a');
  }

  /** Opens a queue in a tracking folder, returning it with the records not yet acknowledged. */
  static open(runDir: string, syncIntervalMs?: number): { queue: DurableQueue; pending: QueueRecord[]; unreadable: number } {
    const paths = trackingPaths(runDir);
    const { records, unreadable } = readQueueFile(paths.queue);
    const acked = readCursor(paths.cursor);
    const lastId = records.reduce((m, r) => Math.max(m, r.id), 0);
    const queue = new DurableQueue(paths.queue, paths.cursor, lastId, acked, syncIntervalMs);
    return { queue, pending: records.filter((r) => r.id > acked), unreadable };
  }

  get acked(): number {
    return this.ackedId;
  }

  /** Numbers a record and appends it (written now, fsync'd soon). */
  append(record: NewRecord): QueueRecord {
    if (this.fd === undefined) throw new Error(`queue ${this.queuePath} is closed`);
    const numbered = { id: this.nextId++, ...record } as QueueRecord;
    writeSync(this.fd, `${toMlflowJson(numbered)}\n`);
    this.dirty = true;
    this.scheduleSync();
    return numbered;
  }

  private syncSoon(): void {
    this.timer = undefined;
    if (!this.dirty || this.fd === undefined || this.syncing) return;
    this.dirty = false;
    this.syncing = true;
    // fsync in the thread pool: the caller of append never waits for the disk.
    fsync(this.fd, () => {
      this.syncing = false;
      if (this.dirty) this.scheduleSync();
    });
  }

  private scheduleSync(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.syncSoon(), this.syncIntervalMs);
    // A pending fsync must not keep the process alive: close() syncs anyway.
    this.timer.unref();
  }

  /** Records that everything up to `id` reached the server. */
  ack(id: number): void {
    if (id <= this.ackedId) return;
    this.ackedId = id;
    writeFileAtomic(this.cursorPath, `${JSON.stringify({ acked: id, at: new Date().toISOString() })}\n`);
  }

  /** Flushes to disk and closes the file. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
