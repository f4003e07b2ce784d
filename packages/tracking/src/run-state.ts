/**
 * `<runDir>/tracking/mlflow-run.json`: which server and MLflow run a run
 * directory belongs to, and how to create that run if the server was down
 * when training began. syncRun reads it to finish the job later.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { MlflowTag } from './mlflow-client';
import { trackingPaths, writeFileAtomic } from './queue-file';

export interface MlflowRunState {
  version: 1;
  /** The tracking server. */
  uri: string;
  experimentName: string;
  experimentId?: string;
  /**
   * A trial's parent run: its experiment is this run's (MLflow nests runs
   * only within one experiment), found when the run is created.
   */
  parentRunId?: string;
  /**
   * A random id tagged on the run as `duel.run_uid`. If a create request
   * reached the server but its answer was lost, a search for this tag finds
   * the run instead of creating a second one.
   */
  runUid: string;
  runName: string;
  /** Epoch ms of the tracker's start. */
  startTime: number;
  userId: string;
  /** Tags the run is created with (mlflow.runName, mlflow.source.*, mlflow.parentRunId ...). */
  createTags: MlflowTag[];
  /** Set before the first create request, so a retry searches first. */
  createAttempted: boolean;
  runId?: string;
  /** The artifact proxy path of the run's root; null when the server does not proxy artifacts. */
  artifactRoot?: string | null;
  /** Skip artifacts under checkpoints/ (the plugin's uploadCheckpoints: false). */
  skipCheckpoints?: boolean;
  /** The last terminal status sent or queued. */
  status?: string;
  /** Whether everything queued has reached the server. */
  synced: boolean;
  updatedAt: string;
}

export function readRunState(runDir: string): MlflowRunState | undefined {
  const path = trackingPaths(runDir).run;
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as MlflowRunState;
}

export function writeRunState(runDir: string, state: MlflowRunState): void {
  state.updatedAt = new Date().toISOString();
  writeFileAtomic(trackingPaths(runDir).run, `${JSON.stringify(state, null, 2)}\n`);
}
