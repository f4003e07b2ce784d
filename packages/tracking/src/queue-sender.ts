/**
 * Sends a run's queued records to MLflow in order, one request at a time,
 * and moves the durable cursor after each acknowledged request. Used by the
 * tracker's background flusher and by syncRun.
 *
 * Failure handling:
 * - retryable (connection lost, 408, 429, 5xx): wait (exponential backoff with
 *   jitter, Retry-After honoured, at most `maxDelayMs`) and try the same
 *   request again, for as long as the caller lets it run;
 * - a record the server refuses (HTTP 400 INVALID_PARAMETER_VALUE and the
 *   like): if the request carried several records they are sent one by one to
 *   find the culprit, which goes to mlflow-rejected.jsonl with the server's
 *   message, and the queue moves on;
 * - anything else (401/403, a URL that is not MLflow): the sender stops and
 *   the queue stays on disk for `duel sync`.
 */
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { planBatch } from './batching';
import { MlflowApiError, isRetryableError, proxiedArtifactRoot, type MlflowClient } from './mlflow-client';
import type { DurableQueue, QueueRecord } from './queue-file';
import { backoffDelay, RetryAbortedError, sleep, type RetryPolicy } from './retry';
import { writeRunState, type MlflowRunState } from './run-state';

/** The server's answer says this request's content is at fault, not the server. */
function isRecordRejection(error: unknown): boolean {
  return (
    error instanceof MlflowApiError &&
    error.status === 400 &&
    ['INVALID_PARAMETER_VALUE', 'BAD_REQUEST', 'INVALID_STATE', 'RESOURCE_ALREADY_EXISTS', 'MALFORMED_REQUEST'].includes(error.errorCode)
  );
}

function isMissingFile(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}

/** Thrown when the sender gives up for this session (auth, wrong server). */
export class SenderStoppedError extends Error {
  override readonly name = 'SenderStoppedError';
  constructor(override readonly cause: unknown) {
    super(`MLflow refused the requests: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export interface QueueSenderOptions {
  runDir: string;
  rejectedPath: string;
  log: (line: string) => void;
  /** Cap on the wait between tries. @default 10000 */
  maxDelayMs?: number;
  /** First backoff step. @default 500 */
  baseDelayMs?: number;
  /** Told of every record the server acknowledged (or that was rejected), in order. */
  onAck?: (record: QueueRecord) => void;
}

export class QueueSender {
  /** Records not yet acknowledged, in queue order. */
  readonly pending: QueueRecord[];
  /** The last retryable failure, while the server is unreachable. */
  lastError: unknown;
  /** Set when the sender gave up for good (see {@link SenderStoppedError}). */
  stoppedBy: unknown;
  sent = 0;
  rejected = 0;
  private isolate = 0;
  private failures = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: MlflowClient,
    readonly state: MlflowRunState,
    private readonly queue: DurableQueue,
    pending: QueueRecord[],
    private readonly options: QueueSenderOptions,
  ) {
    this.pending = [...pending];
  }

  push(record: QueueRecord): void {
    this.pending.push(record);
    this.wake?.();
  }

  private saveState(): void {
    writeRunState(this.options.runDir, this.state);
  }

  /**
   * Creates the MLflow run if it does not exist yet (the server may have been
   * down at start), finding it by `duel.run_uid` if an earlier create may
   * have gone through. The create itself is tried once: retry by calling
   * this again (see MlflowClient.withRetry).
   */
  async ensureRun(retry: Partial<RetryPolicy>): Promise<string> {
    if (this.state.runId) return this.state.runId;
    const s = this.state;
    if (!s.experimentId && s.parentRunId) {
      const experimentId = (await this.client.getRun(s.parentRunId, retry)).info.experiment_id;
      s.experimentName = await this.client.getExperimentName(experimentId, retry);
      s.experimentId = experimentId;
      this.saveState();
    }
    if (!s.experimentId) {
      s.experimentId = await this.client.getOrCreateExperiment(s.experimentName, retry);
      this.saveState();
    }
    if (s.createAttempted) {
      const found = await this.client.searchRuns([s.experimentId], `tags.\`duel.run_uid\` = '${s.runUid}'`, 1, retry);
      const run = found[0];
      if (run) return this.adopt(run.info.run_id, run.info.artifact_uri);
    }
    s.createAttempted = true;
    this.saveState();
    // One attempt only: a retry must search first, in case this one got through.
    const info = await this.client.createRun(
      { experimentId: s.experimentId, runName: s.runName, startTime: s.startTime, tags: s.createTags, userId: s.userId },
      { ...retry, maxAttempts: 1 },
    );
    return this.adopt(info.run_id, info.artifact_uri);
  }

  private adopt(runId: string, artifactUri: string): string {
    this.state.runId = runId;
    this.state.artifactRoot = proxiedArtifactRoot(artifactUri) ?? null;
    if (this.state.artifactRoot === null) {
      this.options.log(`mlflow: the server gave run ${runId} artifact root '${artifactUri}', which its artifact proxy does not serve; artifacts will be rejected (start the server with --artifacts-destination)`);
    }
    this.saveState();
    return runId;
  }

  /** Sends the next request from the head of the queue. */
  async step(signal: AbortSignal): Promise<void> {
    const retry: Partial<RetryPolicy> = { maxAttempts: 1, signal };
    const runId = await this.ensureRun(retry);
    const head = this.pending[0];
    if (!head) return;
    if (head.t === 'artifact') {
      await this.sendArtifact(head, retry);
      this.acknowledge([head]);
      return;
    }
    if (head.t === 'status') {
      await this.client.updateRun(runId, head.status, head.endTime ?? Date.now(), retry);
      this.acknowledge([head]);
      return;
    }
    const batch = planBatch(this.isolate > 0 ? this.pending.slice(0, 1) : this.pending);
    if (!batch) return;
    try {
      await this.client.logBatch(runId, { metrics: batch.metrics, params: batch.params, tags: batch.tags }, retry);
    } catch (error) {
      if (!isRecordRejection(error)) throw error;
      if (batch.records.length > 1) {
        // Find the record at fault by sending them one at a time.
        this.isolate = batch.records.length;
        return;
      }
      this.reject(head, error);
      return;
    }
    this.acknowledge(batch.records);
  }

  private async sendArtifact(record: Extract<QueueRecord, { t: 'artifact' }>, retry: Partial<RetryPolicy>): Promise<void> {
    const root = this.state.artifactRoot;
    if (root === null || root === undefined) throw Object.assign(new Error('the server does not proxy artifacts for this run'), { reject: true });
    let info;
    try {
      info = statSync(record.localPath);
    } catch (error) {
      if (isMissingFile(error)) throw Object.assign(new Error(`artifact file ${record.localPath} is gone`), { reject: true });
      throw error;
    }
    const files = info.isDirectory() ? listFiles(record.localPath) : [record.localPath];
    for (const file of files) {
      const rel = info.isDirectory() ? relative(record.localPath, file).split(sep).join('/') : '';
      const target = rel === '' ? record.artifactPath : `${record.artifactPath}/${rel}`;
      await this.client.uploadArtifact(root, target, file, retry);
    }
  }

  private acknowledge(records: QueueRecord[]): void {
    const last = records[records.length - 1];
    if (!last) return;
    this.pending.splice(0, records.length);
    this.queue.ack(last.id);
    this.sent += records.length;
    if (this.isolate > 0) this.isolate = Math.max(0, this.isolate - records.length);
    for (const r of records) {
      if (r.t === 'status' && r.status !== 'RUNNING') this.state.status = r.status;
      this.options.onAck?.(r);
    }
    if (records.some((r) => r.t === 'status')) this.saveState();
  }

  private reject(record: QueueRecord, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    appendFileSync(this.options.rejectedPath, `${JSON.stringify({ at: new Date().toISOString(), error: message, record })}\n`);
    this.options.log(`mlflow: record ${record.id} (${record.t}) refused and set aside in ${this.options.rejectedPath}: ${message}`);
    this.pending.shift();
    this.queue.ack(record.id);
    this.rejected++;
    if (this.isolate > 0) this.isolate--;
    this.options.onAck?.(record);
  }

  /**
   * Sends until the queue is empty and `finish()` says so, or `signal` aborts.
   * Resolves true when everything queued was sent.
   */
  async loop(signal: AbortSignal, finish: () => boolean, lingerMs = 0): Promise<boolean> {
    const maxDelayMs = this.options.maxDelayMs ?? 10_000;
    const baseDelayMs = this.options.baseDelayMs ?? 500;
    while (!signal.aborted && this.stoppedBy === undefined) {
      if (this.pending.length === 0) {
        if (finish()) break;
        await this.waitForWork(signal);
        // Let a burst of logMetrics calls gather into one request.
        if (lingerMs > 0 && !signal.aborted && !finish()) await sleep(lingerMs, signal).catch(() => undefined);
        continue;
      }
      try {
        await this.step(signal);
        if (this.failures > 0) this.options.log(`mlflow: ${this.state.uri} reachable again after ${this.failures} failed tries; ${this.pending.length} records still queued`);
        this.failures = 0;
        this.lastError = undefined;
      } catch (error) {
        if (signal.aborted || error instanceof RetryAbortedError) break;
        const head = this.pending[0];
        if ((error as { reject?: boolean }).reject && head) {
          this.reject(head, error);
          continue;
        }
        if (isRecordRejection(error) && head && (head.t === 'artifact' || head.t === 'status')) {
          this.reject(head, error);
          continue;
        }
        if (!isRetryableError(error)) {
          this.stoppedBy = new SenderStoppedError(error);
          this.options.log(`mlflow: giving up for now: ${(this.stoppedBy as Error).message}; ${this.pending.length} records stay queued`);
          break;
        }
        this.failures++;
        this.lastError = error;
        const retryAfter = error instanceof MlflowApiError ? error.retryAfterMs : undefined;
        const delay = backoffDelay(this.failures, { baseDelayMs, maxDelayMs }, retryAfter);
        if (this.failures === 1) {
          this.options.log(`mlflow: ${this.state.uri} unreachable (${describeError(error)}); queueing on disk and retrying (at most ${maxDelayMs / 1000} s apart)`);
        }
        try {
          await sleep(delay, signal);
        } catch {
          break;
        }
      }
    }
    return this.pending.length === 0;
  }

  private waitForWork(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.wake = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Wakes an idle loop (after finish() changed). */
  poke(): void {
    this.wake?.();
  }
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

export function describeError(error: unknown): string {
  if (error instanceof MlflowApiError) return `HTTP ${error.status} ${error.errorCode}`;
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | null)?.code ?? (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}
