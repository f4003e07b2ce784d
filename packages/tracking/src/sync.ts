/**
 * `duel sync <run-dir>`: sends what a run left in its MLflow queue (the server
 * was down when it ended, or the process died) and closes the MLflow run the
 * way the run ended.
 */
import { existsSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import { UserInputError, type RunStatus } from '@duel/core';
import { MlflowClient } from './mlflow-client';
import { DurableQueue, trackingPaths, type QueueRecord } from './queue-file';
import { QueueSender, describeError } from './queue-sender';
import { RunLock } from './run-lock';
import { readRunState, writeRunState } from './run-state';

/** Options of {@link syncRun}. */
export interface SyncOptions {
  /** Give up (leaving the rest queued) after this long. @default 600000 */
  timeoutMs?: number;
  /**
   * End the MLflow run with this status when the queue holds no end of its
   * own (the training process died before `end()`). @default leave the run as it is
   */
  endStatus?: RunStatus;
  /** Cap on the wait between tries. @default 10000 */
  maxRetryDelayMs?: number;
  /** @default stderr */
  log?: (line: string) => void;
  /** undici dispatcher (tests). */
  dispatcher?: Dispatcher;
  /** Told of each record the server acknowledges, in order. */
  onAck?: (record: QueueRecord) => void;
}

/** What {@link syncRun} did. */
export interface SyncResult {
  runDir: string;
  uri: string;
  runId: string | undefined;
  /** Records sent now. */
  sent: number;
  /** Records the server refused (set aside in tracking/mlflow-rejected.jsonl). */
  rejected: number;
  /** Records still queued (0 when synced). */
  pending: number;
  synced: boolean;
  /** Why it stopped short, when it did. */
  reason?: string;
}

/**
 * Replays the part of `<runDir>/tracking/mlflow-queue.jsonl` the server has
 * not acknowledged, in order, creating the MLflow run first if the server
 * never saw it. Safe to run again: everything after the cursor is resent, and
 * MLflow ignores exact duplicates. Throws UserInputError when the directory
 * has no MLflow queue, or its queue is in use by a live run.
 */
export async function syncRun(runDir: string, options: SyncOptions = {}): Promise<SyncResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const paths = trackingPaths(runDir);
  const state = readRunState(runDir);
  if (!state || !existsSync(paths.queue)) {
    throw new UserInputError(`${runDir}: nothing to sync (no ${paths.run}); was the run tracked with the mlflow tracker?`);
  }
  let lock: RunLock;
  try {
    lock = RunLock.acquire(paths.lock);
  } catch (error) {
    throw new UserInputError(`${runDir}: ${(error as Error).message}`);
  }
  const client = new MlflowClient({ uri: state.uri, dispatcher: options.dispatcher });
  const { queue, pending, unreadable } = DurableQueue.open(runDir);
  try {
    if (unreadable > 0) log(`sync: ${unreadable} unreadable lines in ${paths.queue} skipped`);
    const sender = new QueueSender(client, state, queue, pending, {
      runDir,
      rejectedPath: paths.rejected,
      log,
      maxDelayMs: options.maxRetryDelayMs,
      onAck: options.onAck,
    });
    const ended = state.status !== undefined || pending.some((r) => r.t === 'status' && r.status !== 'RUNNING');
    if (!ended && options.endStatus) sender.push(queue.append({ t: 'status', status: options.endStatus, endTime: Date.now() }));
    if (sender.pending.length === 0 && state.runId) {
      state.synced = true;
      writeRunState(runDir, state);
      return { runDir, uri: state.uri, runId: state.runId, sent: 0, rejected: 0, pending: 0, synced: true };
    }
    log(`sync: ${sender.pending.length} records for ${state.uri}${state.runId ? ` run ${state.runId}` : ' (run not created yet)'}`);
    const signal = AbortSignal.timeout(options.timeoutMs ?? 600_000);
    await sender.loop(signal, () => true);
    const synced = sender.pending.length === 0 && state.runId !== undefined;
    state.synced = synced;
    writeRunState(runDir, state);
    const reason = synced
      ? undefined
      : sender.stoppedBy
        ? (sender.stoppedBy as Error).message
        : `${state.uri} unreachable (${describeError(sender.lastError)})`;
    log(synced ? `sync: run ${state.runId} up to date (${sender.sent} sent${sender.rejected ? `, ${sender.rejected} refused` : ''})` : `sync: ${sender.pending.length} records still queued: ${reason}`);
    return { runDir, uri: state.uri, runId: state.runId, sent: sender.sent, rejected: sender.rejected, pending: sender.pending.length, synced, ...(reason ? { reason } : {}) };
  } finally {
    queue.close();
    lock.release();
    await client.close();
  }
}
