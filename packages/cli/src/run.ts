import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  AdversarialTrainer,
  deriveSeed,
  loadLatestCheckpoint,
  saveNetwork,
  SeededStepRandom,
  Streams,
  TerminalProgress,
  UserInputError,
  writeFileAtomic,
  type Augmentation,
  type Backend,
  type BuiltNetwork,
  type Callback,
  type DataSource,
  type GanLoss,
  type ImageDataset,
  type Optimizer,
  type Part,
  type PluginCatalogue,
  type PluginKind,
  type ProgressSink,
  type ResolvedExperiment,
  type ResolvedPart,
  type RunStatus,
  type Tracker,
  type TrainOutcome,
} from '@duel/core';
import { loadExperiment, type ExperimentSource } from './assemble';

/** What `duel train` and the library API accept. */
export interface TrainRequest extends ExperimentSource {
  /** Run directory. @default runs/<name>-<time> */
  out?: string;
  /** Continue the run in this directory from its latest valid checkpoint. */
  resume?: string;
  progress?: ProgressSink;
  /** A sweep's parent run and the trial's varied settings. */
  parentRunId?: string;
  /** The run's name in trackers (a sweep names each trial). @default the experiment's name */
  runName?: string;
  tags?: Record<string, string>;
  /** Handle SIGINT/SIGTERM by checkpointing and ending KILLED. @default true */
  handleSignals?: boolean;
}

export interface TrainResult {
  runDir: string;
  status: RunStatus;
  backend: string;
  outcome: TrainOutcome;
  resolved: ResolvedExperiment;
}

/** What callback plugins are given: artifact hand-off and access to other parts by name. */
export interface CallbackContext {
  /** Builds a feature extractor (the evaluation callback's). */
  createExtractor<T>(part: Part, extras: { dataset: ImageDataset }): Promise<T>;
  readonly runDir: string;
  onArtifact(path: string, artifactPath: string): void;
  /** Builds another part (e.g. an evaluation callback's feature extractor). */
  createPart<T>(kind: PluginKind, part: Part, path: string): Promise<T>;
  /** The run's data source (already loaded). */
  readonly dataset: ImageDataset;
}

/** Loads a data part's images (decoded once into the cache). */
export async function loadDataset(part: { plugin: ResolvedPart['plugin']; options: unknown }, baseDir: string, log: (line: string) => void): Promise<ImageDataset> {
  const source = (await part.plugin.create(part.options, { baseDir, cacheDir: join(cacheRoot(), 'datasets'), log })) as DataSource;
  return source.load();
}

/** A part built after the experiment was checked (a callback's extractor, a remedy's loss): looked up and validated, or bad input. */
function resolvePart(catalogue: PluginCatalogue, kind: PluginKind, part: Part, path: string): { plugin: ResolvedPart['plugin']; options: unknown } {
  const issues: { path: string; message: string }[] = [];
  const found = catalogue.resolve(kind, { type: part.type, options: part.options ?? {} }, path, issues);
  if (!found) throw new UserInputError(`invalid ${kind}`, issues);
  return found;
}

/** Builds an extractor plugin from a part (evaluation callback, `duel evaluate`). */
export async function createExtractor<T>(catalogue: PluginCatalogue, part: Part, context: { dataset?: ImageDataset; baseDir: string; log: (line: string) => void }): Promise<T> {
  const found = resolvePart(catalogue, 'extractor', part, 'extractor');
  const loadData = (data: Part) => loadDataset(resolvePart(catalogue, 'data', data, 'extractor.options.data'), context.baseDir, context.log);
  return (await found.plugin.create(found.options, { ...context, loadData, cacheDir: join(cacheRoot(), 'extractors') })) as T;
}

/** Decoded datasets and trained extractors are cached here (`DUEL_CACHE_DIR`, default `.cache`). */
export function cacheRoot(): string {
  return resolve(process.env['DUEL_CACHE_DIR'] ?? '.cache');
}

async function build<T>(part: ResolvedPart, context: unknown): Promise<T> {
  return (await part.plugin.create(part.options, context)) as T;
}

/** Activates the experiment's backend and says which one runs. */
export async function activateBackend(resolved: ResolvedExperiment, progress: ProgressSink): Promise<string> {
  const backend = await build<Backend>(resolved.parts.backend, {});
  await backend.activate();
  const name = tf.getBackend();
  // Engine backends describe what runs (library, TensorFlow version, device, threads).
  const description = (backend as { active?: { description?: string } }).active?.description;
  progress.line(`backend: ${description ?? `${name}${backend.name !== name ? ` (via '${backend.name}')` : ''}`}`);
  return name;
}

function defaultRunDir(name: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
  return resolve('runs', `${name}-${stamp}`);
}

/**
 * Trains one experiment end to end: validate, pick the backend, load data,
 * build the parts, train, save the generator, close the trackers.
 */
export async function train(request: TrainRequest): Promise<TrainResult> {
  const progress = request.progress ?? new TerminalProgress();
  // Resuming with no experiment file continues the run's own experiment.
  const source: ExperimentSource =
    request.resume && !request.file && !request.document
      ? { ...request, document: readResolvedExperiment(request.resume), baseDir: request.baseDir ?? process.cwd() }
      : request;
  const { resolved, catalogue } = await loadExperiment(source);
  // A bad --resume folder must fail before anything is written or trained.
  const checkpoint = request.resume ? loadLatestCheckpoint(resolve(request.resume)) : undefined;
  const runDir = resolve(request.resume ?? request.out ?? defaultRunDir(resolved.experiment.name));
  const backend = await activateBackend(resolved, progress);
  const { experiment } = resolved;
  mkdirSync(runDir, { recursive: true });

  const dataset = await loadDataset(resolved.parts.data, resolved.baseDir, (line) => progress.line(line));
  progress.line(`data: ${dataset.size} images ${dataset.shape.height}x${dataset.shape.width}x${dataset.shape.channels} from ${dataset.source}${dataset.skipped.length ? ` (${dataset.skipped.length} bad files skipped)` : ''}`);

  const networkRandom = new SeededStepRandom(experiment.seed, Streams.dropout);
  const networkContext = (stream: number) => ({ imageShape: dataset.shape, random: networkRandom, seed: deriveSeed(experiment.seed, Streams.init, stream) });
  const generator = await build<BuiltNetwork>(resolved.parts.generator, networkContext(0));
  const discriminator = await build<BuiltNetwork>(resolved.parts.discriminator, networkContext(1));
  const loss = await build<GanLoss>(resolved.parts.loss, {});
  const augmentations: Augmentation[] = [];
  for (const part of resolved.parts.augment) augmentations.push(await build<Augmentation>(part, {}));
  const generatorOptimizer = await build<Optimizer>(resolved.parts.generatorOptimizer, {});
  const discriminatorOptimizer = await build<Optimizer>(resolved.parts.discriminatorOptimizer, {});
  const trackers: Tracker[] = [];
  for (const part of resolved.parts.trackers) trackers.push(await build<Tracker>(part, { runDir, log: (line: string) => progress.line(line) }));
  const artifacts: [string, string][] = [];
  const callbackContext: CallbackContext = {
    runDir,
    dataset,
    createExtractor: <T>(part: Part, extras: { dataset: ImageDataset }) => createExtractor<T>(catalogue, part, { ...extras, baseDir: resolved.baseDir, log: (line) => progress.line(line) }),
    onArtifact: (path, artifactPath) => {
      artifacts.push([path, artifactPath]);
      for (const tracker of trackers) tracker.logArtifact(path, artifactPath);
    },
    createPart: async <T>(kind: PluginKind, part: Part, path: string) => {
      const found = resolvePart(catalogue, kind, part, path);
      return (await found.plugin.create(found.options, callbackContext)) as T;
    },
  };
  const callbacks: Callback[] = [];
  for (const part of withDefaultCallbacks(resolved.parts.callbacks, catalogue)) callbacks.push(await build<Callback>(part, callbackContext));

  const resolvedPath = join(runDir, 'experiment.resolved.json');
  writeFileAtomic(resolvedPath, `${JSON.stringify(experiment, null, 2)}\n`);
  const runInfo = {
    name: request.runName ?? experiment.name,
    runDir,
    experiment: experiment as unknown as Record<string, unknown>,
    ...(request.parentRunId ? { parentRunId: request.parentRunId } : {}),
    tags: { 'duel.backend': backend, ...(request.tags ?? {}) },
  };
  for (const tracker of trackers) await tracker.start(runInfo);
  for (const tracker of trackers) tracker.logArtifact(resolvedPath, 'experiment.resolved.json');
  const started = new Date().toISOString();
  writeRunJson(runDir, { name: experiment.name, status: 'RUNNING', backend, started });

  const trainer = new AdversarialTrainer({
    generator: generator.model,
    discriminator: discriminator.model,
    discriminatorOutput: discriminator.output ?? 'probability',
    latentDim: generator.latentDim ?? (generator.model.inputs[0]!.shape[1] as number),
    loss,
    augmentations,
    generatorOptimizer,
    discriminatorOptimizer,
    dataset,
    callbacks,
    trackers,
    settings: experiment.trainer,
    seed: experiment.seed,
    networkRandom,
    runDir,
    progress,
  });
  const onSignal = () => {
    progress.line('interrupt received: finishing the current step, then writing a checkpoint');
    trainer.interrupt();
  };
  const handleSignals = request.handleSignals ?? true;
  if (handleSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  let outcome: TrainOutcome;
  try {
    outcome = await trainer.train(checkpoint);
    if (outcome.status === 'FINISHED') {
      const files = await saveNetwork(generator.model, join(runDir, 'generator'));
      for (const tracker of trackers) for (const file of files) tracker.logArtifact(file, relative(runDir, file));
    }
  } catch (error) {
    writeRunJson(runDir, { name: experiment.name, status: 'FAILED', backend, started, ended: new Date().toISOString(), error: String(error) });
    for (const tracker of trackers) await tracker.end('FAILED', error instanceof Error ? error : new Error(String(error))).catch(() => undefined);
    throw error;
  } finally {
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    trainer.dispose();
  }
  const last = outcome.history[outcome.history.length - 1];
  writeRunJson(runDir, {
    name: experiment.name,
    status: outcome.status,
    backend,
    started,
    ended: new Date().toISOString(),
    epochs: outcome.position.epoch,
    steps: outcome.position.step,
    images_per_s: last?.images_per_s ?? null,
    ...(outcome.stopReason ? { stop_reason: outcome.stopReason } : {}),
  });
  for (const tracker of trackers) await tracker.end(outcome.status);
  generator.model.dispose();
  discriminator.model.dispose();
  generatorOptimizer.dispose();
  discriminatorOptimizer.dispose();
  return { runDir, status: outcome.status, backend, outcome, resolved };
}

/** A grid per epoch and the memorisation check are part of every run unless the experiment lists its own callbacks of those kinds. */
function withDefaultCallbacks(parts: ResolvedPart[], catalogue: PluginCatalogue): ResolvedPart[] {
  const out = [...parts];
  for (const name of ['sample-grid', 'memorisation']) {
    if (out.some((p) => p.type === name)) continue;
    const plugin = catalogue.get('callback', name);
    if (plugin) out.push({ type: name, options: plugin.options.parse({}), plugin });
  }
  return out;
}

function writeRunJson(runDir: string, data: Record<string, unknown>): void {
  writeFileAtomic(join(runDir, 'run.json'), `${JSON.stringify(data, null, 2)}\n`);
}

/** The experiment a run directory was trained with. */
export function readResolvedExperiment(runDir: string): Record<string, unknown> {
  const path = join(resolve(runDir), 'experiment.resolved.json');
  if (!existsSync(path)) throw new UserInputError(`${runDir}: not a duel run directory (no experiment.resolved.json)`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new UserInputError(`${path}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}
