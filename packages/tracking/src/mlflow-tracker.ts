/**
 * The MLflow tracker: every call is appended to a durable queue in the run
 * directory and sent by a background flusher, so training never waits on the
 * network and a server outage loses nothing (see queue-file.ts, queue-sender.ts).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import type { Dispatcher } from 'undici';
import { UserInputError, type RunInfo, type RunStatus, type Tracker } from '@duel/core';
import { splitRecord } from './batching';
import { MLFLOW_LIMITS, flattenParams, sanitizeKey, truncateValue } from './flatten';
import { MlflowApiError, MlflowClient, checkArtifactPath, type MlflowTag } from './mlflow-client';
import { DurableQueue, trackingPaths, type NewRecord, type QueueRecord } from './queue-file';
import { QueueSender, describeError } from './queue-sender';
import { RetryAbortedError, sleep } from './retry';
import { RunLock } from './run-lock';
import { readRunState, writeRunState, type MlflowRunState } from './run-state';

/** Options of {@link MlflowTracker}. */
export interface MlflowTrackerOptions {
  /** The tracking server, e.g. `http://127.0.0.1:5000`. */
  uri: string;
  /** @default a trial's parent run's experiment (RunInfo.parentRunId), else the experiment's `name` */
  experimentName?: string;
  /** @default the run's name */
  runName?: string;
  /** Tags set when the run is created. @default {} */
  tags?: Record<string, string>;
  /** Upload artifacts under `checkpoints/` (large, and already on disk). @default false */
  uploadCheckpoints?: boolean;
  /** How long `end()` waits for the queue to drain before leaving it for `duel sync`. @default 120000 */
  flushTimeoutMs?: number;
  /** How long `start()` tries to create the run before going on offline. @default 15000 */
  startTimeoutMs?: number;
  /** Cap on the wait between tries while the server is unreachable. @default 10000 */
  maxRetryDelayMs?: number;
  /** Time the flusher lets logMetrics calls gather before a request. @default 100 */
  lingerMs?: number;
  /** Per-request time limit. @default 30000 */
  requestTimeoutMs?: number;
  /** Where progress and warnings go. @default stderr */
  log?: (line: string) => void;
  /** undici dispatcher (tests). @default a keep-alive Agent */
  dispatcher?: Dispatcher;
  /** Told of each record as the server acknowledges (or rejects) it, in order (tests, progress). */
  onAck?: (record: QueueRecord) => void;
}

/** How `end()` left things. */
export interface MlflowEndResult {
  /** Everything queued reached the server. */
  synced: boolean;
  /** Records still queued on disk (0 when synced). */
  pending: number;
  runId: string | undefined;
  queuePath: string;
  /** Why the queue did not drain. */
  reason?: string;
}

const defaultLog = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function gitCommit(cwd: string): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'unknown';
  }
}

/** The tags a duel run is created with. */
export function creationTags(run: RunInfo, runName: string, runUid: string, extra: Record<string, string> = {}): MlflowTag[] {
  const tags: Record<string, string> = {
    'mlflow.runName': runName,
    'mlflow.source.name': process.argv[1] ? relative(process.cwd(), process.argv[1]) || basename(process.argv[1]) : 'duel',
    'mlflow.source.type': 'LOCAL',
    'mlflow.user': currentUser(),
    'duel.run_uid': runUid,
    'duel.run_dir': resolve(run.runDir),
  };
  const commit = gitCommit(process.cwd());
  if (commit) tags['mlflow.source.git.commit'] = commit;
  if (run.parentRunId) tags['mlflow.parentRunId'] = run.parentRunId;
  Object.assign(tags, run.tags ?? {}, extra);
  return Object.entries(tags).map(([key, value]) => ({ key: sanitizeKey(key), value: truncateValue(String(value), MLFLOW_LIMITS.tagValueLength) }));
}

function isCheckpoint(runDir: string, localPath: string, artifactPath: string): boolean {
  if (artifactPath === 'checkpoints' || artifactPath.startsWith('checkpoints/')) return true;
  const rel = relative(join(runDir, 'checkpoints'), localPath);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * A {@link Tracker} for an MLflow tracking server. `logMetrics`, `setTags`
 * and `logArtifact` return at once; `end()` waits for the queue to drain (up
 * to `flushTimeoutMs`), and if the server is still away leaves the queue in
 * `<runDir>/tracking/` for {@link syncRun}. Starting again on the same run
 * directory (a resumed run) continues the same MLflow run.
 */
export class MlflowTracker implements Tracker {
  readonly name = 'mlflow';
  /** Set once `end()` returns. */
  endResult: MlflowEndResult | undefined;
  private readonly options: MlflowTrackerOptions;
  private readonly log: (line: string) => void;
  private client: MlflowClient | undefined;
  private sender: QueueSender | undefined;
  private queue: DurableQueue | undefined;
  private lock: RunLock | undefined;
  private run: RunInfo | undefined;
  private loopDone: Promise<boolean> | undefined;
  private readonly abort = new AbortController();
  private closing = false;
  private ended = false;
  private warnedLate = false;

  constructor(options: MlflowTrackerOptions) {
    this.options = options;
    this.log = options.log ?? defaultLog;
  }

  get runId(): string | undefined {
    return this.sender?.state.runId;
  }

  /** The MLflow experiment id, once known. */
  get experimentId(): string | undefined {
    return this.sender?.state.experimentId;
  }

  /** Records queued and not yet acknowledged. */
  get pendingCount(): number {
    return this.sender?.pending.length ?? 0;
  }

  async start(run: RunInfo): Promise<void> {
    if (this.run) throw new Error('MlflowTracker.start called twice');
    this.run = run;
    const paths = trackingPaths(run.runDir);
    mkdirSync(paths.dir, { recursive: true });
    this.lock = RunLock.acquire(paths.lock);
    try {
      await this.open(run, paths);
    } catch (error) {
      this.queue?.close();
      this.lock.release();
      await this.client?.close();
      this.sender = undefined;
      this.queue = undefined;
      if (error instanceof MlflowApiError) {
        // The server answered, and said no (not MLflow, credentials, a deleted experiment): a setup problem.
        throw new UserInputError(`tracking: mlflow: ${this.options.uri} refused to start the run: ${error.message}`);
      }
      throw error;
    }
  }

  private async open(run: RunInfo, paths: ReturnType<typeof trackingPaths>): Promise<void> {
    const o = this.options;
    this.client = new MlflowClient({ uri: o.uri, dispatcher: o.dispatcher, requestTimeoutMs: o.requestTimeoutMs });
    const previous = readRunState(run.runDir);
    if (previous && previous.uri !== this.client.uri && !previous.runId) {
      // The run never reached the old server (a wrong URI, fixed since): send it to the new one.
      previous.uri = this.client.uri;
      delete previous.experimentId;
      previous.createAttempted = false;
    }
    if (previous && previous.uri !== this.client.uri) {
      throw new UserInputError(
        `${paths.run}: this run directory is tracked on ${previous.uri}, not ${this.client.uri}; sync it there (duel sync) or use a fresh run directory`,
      );
    }
    const experimentName = o.experimentName ?? (typeof run.experiment.name === 'string' && run.experiment.name !== '' ? run.experiment.name : 'duel');
    const runName = o.runName ?? run.name;
    const runUid = previous?.runUid ?? randomUUID();
    const state: MlflowRunState = previous ?? {
      version: 1,
      uri: this.client.uri,
      experimentName,
      // A trial goes where its parent is, unless told otherwise.
      ...(run.parentRunId && !o.experimentName ? { parentRunId: run.parentRunId } : {}),
      runUid,
      runName,
      startTime: Date.now(),
      userId: currentUser(),
      createTags: creationTags(run, runName, runUid, o.tags),
      createAttempted: false,
      skipCheckpoints: !(o.uploadCheckpoints ?? false),
      synced: false,
      updatedAt: '',
    };
    state.synced = false;
    writeRunState(run.runDir, state);

    const { queue, pending, unreadable } = DurableQueue.open(run.runDir);
    this.queue = queue;
    if (unreadable > 0) this.log(`mlflow: ${unreadable} unreadable lines in ${paths.queue} skipped`);
    this.sender = new QueueSender(this.client, state, queue, pending, {
      runDir: run.runDir,
      rejectedPath: paths.rejected,
      log: this.log,
      maxDelayMs: o.maxRetryDelayMs,
      onAck: o.onAck,
    });
    if (pending.length > 0) this.log(`mlflow: ${pending.length} records left from an earlier session in ${paths.queue} go first`);

    if (previous) {
      // A resumed run: same MLflow run, running again. Params were logged the first time.
      this.enqueue({ t: 'status', status: 'RUNNING' });
      const extra = { ...(run.tags ?? {}), ...(o.tags ?? {}) };
      if (Object.keys(extra).length > 0) this.enqueue({ t: 'tags', tags: extra });
    } else {
      const params = flattenParams(run.experiment);
      if (Object.keys(params).length > 0) this.enqueue({ t: 'params', params });
    }

    // Create (or find) the run now if the server answers; otherwise go on
    // offline and let the flusher create it when the server is back.
    const startSignal = AbortSignal.timeout(o.startTimeoutMs ?? 15_000);
    try {
      const sender = this.sender;
      await this.client.withRetry(() => sender.ensureRun({ maxAttempts: 1, signal: startSignal }), { maxAttempts: Number.POSITIVE_INFINITY, maxDelayMs: 2000, signal: startSignal });
      this.log(`mlflow: run ${state.runId} in experiment '${state.experimentName}' (${state.experimentId}) at ${state.uri}`);
    } catch (error) {
      if (!(error instanceof RetryAbortedError) && !startSignal.aborted) throw error;
      this.log(`mlflow: ${state.uri} does not answer (${describeError(error instanceof RetryAbortedError ? error.lastError : error)}); training goes on and everything is queued in ${paths.queue}`);
    }
    this.loopDone = this.sender.loop(this.abort.signal, () => this.closing, o.lingerMs ?? 100);
  }

  private enqueue(record: NewRecord): void {
    if (!this.queue || !this.sender) return;
    for (const part of splitRecord(record)) this.sender.push(this.queue.append(part));
  }

  private usable(what: string): boolean {
    if (this.sender && !this.ended) return true;
    if (!this.warnedLate) {
      this.warnedLate = true;
      this.log(`mlflow: ${what} ${this.ended ? 'after end()' : 'before start()'} ignored`);
    }
    return false;
  }

  logMetrics(step: number, metrics: Record<string, number>, timestamp?: number): void {
    if (!this.usable('logMetrics')) return;
    const clean: Record<string, number> = {};
    for (const [k, v] of Object.entries(metrics)) if (typeof v === 'number') clean[k] = v;
    if (Object.keys(clean).length === 0) return;
    this.enqueue({ t: 'metrics', step: Math.round(step), ts: Math.round(timestamp ?? Date.now()), metrics: clean });
  }

  setTags(tags: Record<string, string>): void {
    if (!this.usable('setTags')) return;
    const clean = Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)]));
    if (Object.keys(clean).length > 0) this.enqueue({ t: 'tags', tags: clean });
  }

  logArtifact(localPath: string, artifactPath: string): void {
    if (!this.usable('logArtifact') || !this.run) return;
    let target: string;
    try {
      target = checkArtifactPath(artifactPath);
    } catch (error) {
      this.log(`mlflow: artifact ${localPath} skipped: ${(error as Error).message}`);
      return;
    }
    const absolute = resolve(localPath);
    if (this.sender?.state.skipCheckpoints && isCheckpoint(resolve(this.run.runDir), absolute, target)) return;
    this.enqueue({ t: 'artifact', localPath: absolute, artifactPath: target });
  }

  /**
   * Waits until the MLflow run exists (it may be created late when the server
   * was down at start) and returns its id, or undefined after `timeoutMs`.
   */
  async runIdReady(timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.runId === undefined && Date.now() < deadline && !this.ended) await sleep(100);
    return this.runId;
  }

  async end(status: RunStatus, error?: Error): Promise<void> {
    if (!this.sender || !this.queue || !this.run || this.ended) return;
    if (error) {
      const text = `${error.name}: ${error.message}`;
      this.enqueue({ t: 'tags', tags: { 'duel.error': text } });
    }
    this.enqueue({ t: 'status', status, endTime: Date.now() });
    this.ended = true;
    this.closing = true;
    this.sender.poke();

    const timeoutMs = this.options.flushTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((res) => {
      timer = setTimeout(() => res('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.loopDone ?? Promise.resolve(true), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.abort.abort();
      await this.loopDone;
    }
    const sender = this.sender;
    const synced = sender.pending.length === 0;
    sender.state.synced = synced;
    if (!synced) sender.state.status = status;
    writeRunState(this.run.runDir, sender.state);
    this.queue.close();
    this.lock?.release();
    await this.client?.close();
    const paths = trackingPaths(this.run.runDir);
    const reason = synced
      ? undefined
      : sender.stoppedBy
        ? (sender.stoppedBy as Error).message
        : `${sender.state.uri} unreachable for ${Math.round(timeoutMs / 1000)} s (${describeError(sender.lastError)})`;
    this.endResult = { synced, pending: sender.pending.length, runId: sender.state.runId, queuePath: paths.queue, reason };
    if (synced) {
      this.log(`mlflow: run ${sender.state.runId} ${status}; ${sender.sent} records sent${sender.rejected > 0 ? `, ${sender.rejected} refused (see ${paths.rejected})` : ''}`);
    } else {
      this.log(
        `mlflow: ${sender.pending.length} records not sent (${reason}); they are kept in ${paths.queue}. ` +
          `Send them later with: pnpm duel sync ${this.run.runDir}`,
      );
    }
  }
}
