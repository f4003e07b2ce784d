import { ContainerModule } from 'inversify';
import { z } from 'zod';
import { definePlugin, PluginToken, UserInputError, type Tracker } from '@duel/core';
import { LocalTracker } from './local-tracker';
import { MlflowTracker } from './mlflow-tracker';

/** What a tracker plugin's factory is given (the CLI passes the run directory). */
export interface TrackerContext {
  readonly runDir?: string;
  /** Where the tracker's progress lines and warnings go. @default stderr */
  readonly log?: (line: string) => void;
}

/** Options of the `mlflow` tracker. */
export const mlflowOptionsSchema = z
  .object({
    /** The tracking server. @default the MLFLOW_TRACKING_URI environment variable */
    uri: z.string().min(1).optional(),
    /** The MLflow experiment runs go to (created if missing). @default a sweep trial's parent run's experiment, else the experiment's `name` */
    experimentName: z.string().min(1).optional(),
    /** Upload checkpoints/ artifacts too (they are large and stay in the run directory). @default false */
    uploadCheckpoints: z.boolean().default(false),
    /** How long the end of a run waits for the queue to drain before leaving it for `duel sync`. @default 120000 */
    flushTimeoutMs: z.number().int().nonnegative().default(120_000),
    /** How long the start of a run tries to reach the server before going on offline. @default 15000 */
    startTimeoutMs: z.number().int().nonnegative().default(15_000),
    /** Tags set on every run. @default {} */
    tags: z.record(z.string(), z.string()).default({}),
  })
  .strict();

function trackingUri(options: { uri?: string | undefined }): string | undefined {
  return options.uri ?? (process.env['MLFLOW_TRACKING_URI'] || undefined);
}

/**
 * Sends a run to an MLflow tracking server: params (the resolved experiment,
 * flattened), metrics per step, tags, artifacts through the server's artifact
 * proxy, the final status. Never blocks training; survives server outages
 * through a durable queue in `<runDir>/tracking/`.
 */
export const mlflowTracker = definePlugin<typeof mlflowOptionsSchema, Tracker, TrackerContext | undefined>({
  kind: 'tracker',
  name: 'mlflow',
  description: 'Logs params, metrics, tags and artifacts to an MLflow tracking server (uri, or MLFLOW_TRACKING_URI); queues on disk while it is down.',
  options: mlflowOptionsSchema,
  check: (options) => {
    const uri = trackingUri(options);
    if (!uri) return ['uri: no MLflow server given: set options.uri or the MLFLOW_TRACKING_URI environment variable'];
    if (!/^https?:\/\//.test(uri)) return [`uri: '${uri}' (from ${options.uri ? 'options.uri' : 'MLFLOW_TRACKING_URI'}) must be an http(s) URL of an MLflow server`];
    return [];
  },
  create: (options, context) => {
    const uri = trackingUri(options);
    if (!uri) throw new UserInputError('tracking: mlflow: no MLflow server given: set options.uri or the MLFLOW_TRACKING_URI environment variable');
    if (!/^https?:\/\//.test(uri)) throw new UserInputError(`tracking: mlflow: uri '${uri}' must be an http(s) URL of an MLflow server`);
    return new MlflowTracker({
      uri,
      ...(options.experimentName ? { experimentName: options.experimentName } : {}),
      uploadCheckpoints: options.uploadCheckpoints,
      flushTimeoutMs: options.flushTimeoutMs,
      startTimeoutMs: options.startTimeoutMs,
      tags: options.tags,
      ...(context?.log ? { log: context.log } : {}),
    });
  },
});

/** Options of the `local` tracker (none). */
export const localOptionsSchema = z.object({}).strict();

/**
 * Records tags, artifacts, metrics events and the end of a run in
 * `<runDir>/tracking/local.jsonl` and `<runDir>/tracking/run.json`.
 */
export const localTracker = definePlugin<typeof localOptionsSchema, Tracker, TrackerContext | undefined>({
  kind: 'tracker',
  name: 'local',
  description: 'Writes every tracker event to <run-dir>/tracking/local.jsonl and a summary to <run-dir>/tracking/run.json.',
  options: localOptionsSchema,
  create: () => new LocalTracker(),
});

/** Binds the trackers: `mlflow` and `local`. */
export const trackingModule = new ContainerModule(({ bind }) => {
  bind(PluginToken).toConstantValue(mlflowTracker);
  bind(PluginToken).toConstantValue(localTracker);
});
