/**
 * @packageDocumentation
 * Where runs are recorded: an MLflow tracking server and/or the run directory.
 *
 * ## Trackers (plugins of kind `tracker`, bound by {@link trackingModule})
 * - `mlflow` ({@link MlflowTracker}): params = the resolved experiment flattened to dot paths
 *   (values over 6000 chars cut with a visible `...[truncated: N chars]` marker); metrics with
 *   step and timestamp through `runs/log-batch` (within 1000 metrics / 100 params / 100 tags /
 *   1000 items / 1 MB a request); tags; artifacts through the server's artifact proxy; status at
 *   the end (`duel.error` tag on failure). Tags at creation: `mlflow.runName`,
 *   `mlflow.source.name`, `mlflow.source.type`, `mlflow.user`, `mlflow.source.git.commit` (in a
 *   git checkout), `mlflow.parentRunId` (trials), `duel.run_uid`, `duel.run_dir`.
 * - `local` ({@link LocalTracker}): `<runDir>/tracking/local.jsonl` and `<runDir>/tracking/run.json`.
 *
 * ## Nothing lost
 * The MLflow tracker never blocks: each call is appended to `<runDir>/tracking/mlflow-queue.jsonl`
 * (fsync'd in batches) and to memory; a background flusher sends records in order and moves
 * `mlflow-queue.cursor` after each acknowledged request. While the server is unreachable it
 * retries (exponential backoff with jitter, Retry-After honoured, at most 10 s apart) and the
 * queue grows on disk. `end()` waits up to `flushTimeoutMs` (default 120 s); if the server is
 * still away the queue stays and {@link syncRun} (`pnpm duel sync <run-dir>`) sends it later.
 * Starting a tracker again on the same run directory (a resumed run) continues its MLflow run
 * and first sends anything an earlier process left queued.
 *
 * ## Sweeps
 * {@link startParentRun} makes a sweep a parent run; each trial is a child run whose RunInfo
 * comes from {@link ParentRun.childRun} (in-process) or, for a trial process, from
 * `--parent-run-id <parent.runId>` plus {@link ParentRun.childTags}. Children carry
 * `mlflow.parentRunId` and go to their parent's MLflow experiment (unless their tracker names
 * an `experimentName`), where the MLflow UI nests them; their params are their own resolved experiments, so the varied settings
 * appear as params at their dot paths (and as the `duel.sweep.settings` tag).
 */
export { MlflowTracker, creationTags, type MlflowTrackerOptions, type MlflowEndResult } from './mlflow-tracker';
export { LocalTracker, type LocalRunSummary } from './local-tracker';
export { syncRun, type SyncOptions, type SyncResult } from './sync';
export { startParentRun, type ParentRun, type ParentRunOptions, type SweepTrialInfo } from './sweep';
export { mlflowTracker, localTracker, trackingModule, mlflowOptionsSchema, localOptionsSchema, type TrackerContext } from './plugins';
export {
  MlflowClient,
  MlflowApiError,
  isRetryableError,
  proxiedArtifactRoot,
  type MlflowClientOptions,
  type MlflowMetric,
  type MlflowRun,
  type MlflowRunInfo,
  type MlflowTag,
  type MlflowFileInfo,
} from './mlflow-client';
export { flattenParams, truncateValue, sanitizeKey, MLFLOW_LIMITS } from './flatten';
export { MLFLOW_BATCH_LIMITS, type BatchLimits } from './batching';
export { trackingPaths, readQueueFile, readCursor, type QueueRecord } from './queue-file';
export { readRunState, type MlflowRunState } from './run-state';
export { type RetryPolicy } from './retry';
