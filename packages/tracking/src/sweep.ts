/**
 * Sweeps as nested runs: the sweep is a parent run, each trial a child run
 * tagged `mlflow.parentRunId`, so the MLflow UI shows the trials under their
 * sweep and compares them side by side.
 */
import type { RunInfo, RunStatus, Tracker } from '@duel/core';
import { MLFLOW_LIMITS, truncateValue } from './flatten';

/** Options of {@link startParentRun}. */
export interface ParentRunOptions {
  /** The trackers of the sweep run (built like a run's: mlflow, local ...). */
  trackers: Tracker[];
  /** The sweep's name: the parent run's name. */
  name: string;
  /** The sweep directory: the parent's run directory (its queue lives in `<dir>/tracking/`). */
  sweepDir: string;
  /** The sweep definition; logged as the parent's params (dot paths). */
  sweep: Record<string, unknown>;
  /** Extra tags on the parent. @default {} */
  tags?: Record<string, string>;
  /**
   * How long to wait for a tracker to have a run id (the MLflow run is
   * created late if the server was down at start). Trials started before it
   * exists are not linked to the parent. @default 30000
   */
  waitForRunIdMs?: number;
}

/** One trial of a sweep, as its child run sees it. */
export interface SweepTrialInfo {
  /** Stable trial id (also the child run's name unless `name` is given). */
  id: string;
  name?: string;
  runDir: string;
  /** The trial's fully resolved experiment (its params: the varied settings sit at their own dot paths). */
  experiment: Record<string, unknown>;
  /** The settings this trial varies: path -> value. */
  settings: Record<string, unknown>;
}

/** A started sweep parent run. */
export interface ParentRun {
  /**
   * The id child runs refer to: the MLflow run's id when an MLflow tracker is
   * among the trackers, else the first tracker's. Pass it to trial processes
   * (`duel train --parent-run-id <id>`). Undefined when no tracker has one.
   */
  readonly runId: string | undefined;
  readonly trackers: readonly Tracker[];
  /** Tags that mark a trial as a child of this sweep (for `--tag k=v` on a trial process). */
  childTags(trial: Pick<SweepTrialInfo, 'id' | 'settings'>): Record<string, string>;
  /** The RunInfo of a trial run: parentRunId, the sweep tags, its name. */
  childRun(trial: SweepTrialInfo): RunInfo;
  /** Figures of the sweep itself (e.g. the best score so far, with the trial number as step). */
  logMetrics(step: number, metrics: Record<string, number>, timestamp?: number): void;
  setTags(tags: Record<string, string>): void;
  logArtifact(localPath: string, artifactPath: string): void;
  /** Ends the parent on every tracker (after the trials). */
  end(status: RunStatus, error?: Error): Promise<void>;
}

/**
 * Starts the parent run of a sweep on every tracker and waits (bounded) for
 * its id.
 *
 * @example
 * ```ts
 * const parent = await startParentRun({ trackers: [mlflow], name: 'lr-sweep', sweepDir, sweep });
 * for (const trial of trials) {
 *   // in-process: trainer trackers start with parent.childRun({...})
 *   // subprocess: duel train ... --parent-run-id ${parent.runId} --tag duel.sweep.parent=lr-sweep
 * }
 * parent.logMetrics(trials.length, { best_g_loss });
 * await parent.end('FINISHED');
 * ```
 */
export async function startParentRun(options: ParentRunOptions): Promise<ParentRun> {
  const { trackers, name } = options;
  const info: RunInfo = {
    name,
    runDir: options.sweepDir,
    experiment: { name, ...options.sweep },
    tags: { 'duel.sweep.role': 'parent', 'duel.sweep.name': name, ...(options.tags ?? {}) },
  };
  for (const tracker of trackers) await tracker.start(info);
  const waitMs = options.waitForRunIdMs ?? 30_000;
  for (const tracker of trackers) {
    const ready = (tracker as { runIdReady?: (ms: number) => Promise<string | undefined> }).runIdReady;
    if (ready && tracker.runId === undefined) await ready.call(tracker, waitMs);
  }
  const preferred = trackers.find((t) => t.name === 'mlflow' && t.runId !== undefined) ?? trackers.find((t) => t.runId !== undefined);
  const runId = preferred?.runId;

  const childTags = (trial: Pick<SweepTrialInfo, 'id' | 'settings'>): Record<string, string> => ({
    'duel.sweep.role': 'trial',
    'duel.sweep.name': name,
    'duel.sweep.trial': trial.id,
    'duel.sweep.settings': truncateValue(JSON.stringify(trial.settings), MLFLOW_LIMITS.tagValueLength),
  });

  return {
    runId,
    trackers,
    childTags,
    childRun: (trial) => ({
      name: trial.name ?? trial.id,
      runDir: trial.runDir,
      experiment: trial.experiment,
      ...(runId ? { parentRunId: runId } : {}),
      tags: childTags(trial),
    }),
    logMetrics: (step, metrics, timestamp) => {
      for (const t of trackers) t.logMetrics(step, metrics, timestamp);
    },
    setTags: (tags) => {
      for (const t of trackers) t.setTags(tags);
    },
    logArtifact: (localPath, artifactPath) => {
      for (const t of trackers) t.logArtifact(localPath, artifactPath);
    },
    end: async (status, error) => {
      for (const t of trackers) await t.end(status, error);
    },
  };
}
