import * as tf from '@tensorflow/tfjs';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyCheckpoint, readCheckpoint, saveCheckpoint, type CheckpointParts, type LoadedCheckpoint, type TrainingPosition } from './checkpoint';
import type { Augmentation, Callback, DiscriminatorOutput, EpochMetrics, GanLoss, ImageDataset, Network, Optimizer, RollbackRequest, RunStatus, SavedState, Stateful, Tracker, TrainingClock, TrainingView } from './contracts';
import { UserInputError } from './errors';
import type { TrainerSettings } from './experiment';
import type { ProgressSink } from './progress';
import { deriveSeed, permutation, SeededStepRandom, Streams } from './random';
import { dueAfterEpoch } from './schedule';
import { discriminatorGradients, generatorGradients, simultaneousGradients, trainableVariables, type StepNetworks } from './steps';

/** Everything the trainer needs, already built. The trainer owns none of it but the loop. */
export interface TrainerParts {
  readonly generator: Network;
  readonly discriminator: Network;
  readonly discriminatorOutput: DiscriminatorOutput;
  readonly latentDim: number;
  readonly loss: GanLoss;
  /** Applied in order to every batch D sees, real and fake. @default [] */
  readonly augmentations?: readonly Augmentation[];
  readonly generatorOptimizer: Optimizer;
  readonly discriminatorOptimizer: Optimizer;
  readonly dataset: ImageDataset;
  readonly callbacks: readonly Callback[];
  readonly trackers: readonly Tracker[];
  readonly settings: TrainerSettings;
  /** The run seed (data order, latent vectors, label noise). */
  readonly seed: number;
  /** The source the networks' stochastic layers draw from; the trainer begins each step on it. */
  readonly networkRandom: SeededStepRandom;
  readonly runDir: string;
  readonly progress: ProgressSink;
}

export interface TrainOutcome {
  status: RunStatus;
  history: EpochMetrics[];
  position: TrainingPosition;
  stopReason?: string;
}

/** Per-step statistics, summed on the device and read once an epoch (or every logEvery steps). */
const STAT_NAMES = ['d_loss', 'g_loss', 'd_real_acc', 'd_fake_acc', 'g_acc', 'd_real_mean', 'd_fake_mean', 'grad_norm_d', 'grad_norm_g'] as const;

/**
 * Images as the networks see them: (x - 127.5) / 127.5, the book's scaling,
 * gathered in batch order (all of them when `indices` is omitted). The caller owns the tensor.
 */
export function imageBatch(images: Pick<ImageDataset, 'pixels' | 'shape'>, indices?: ArrayLike<number>): tf.Tensor4D {
  const { height, width, channels } = images.shape;
  const per = height * width * channels;
  const available = images.pixels.length / per;
  const count = indices === undefined ? available : indices.length;
  const values = new Float32Array(count * per);
  for (let b = 0; b < count; b++) {
    const index = indices === undefined ? b : indices[b]!;
    if (!Number.isInteger(index) || index < 0 || index >= available) throw new RangeError(`imageBatch: index ${index} outside 0..${available - 1}`);
    const pixels = images.pixels.subarray(index * per, (index + 1) * per);
    const offset = b * per;
    for (let i = 0; i < per; i++) values[offset + i] = (pixels[i]! - 127.5) / 127.5;
  }
  return tf.tensor4d(values, [count, height, width, channels]);
}

function scaleLearningRate(optimizer: Optimizer, factor: number | undefined): void {
  if (factor === undefined) return;
  optimizer.learningRate *= factor;
  if (optimizer.baseLearningRate !== undefined) optimizer.baseLearningRate *= factor;
}

function describeRemedy(request: RollbackRequest): string {
  const parts: string[] = [];
  if (request.loss) parts.push('new loss settings');
  if (request.discriminatorLearningRateFactor !== undefined) parts.push(`D learning rate x${request.discriminatorLearningRateFactor}`);
  if (request.generatorLearningRateFactor !== undefined) parts.push(`G learning rate x${request.generatorLearningRateFactor}`);
  return parts.length ? parts.join(', ') : 'none (retry)';
}

/** The learning rates in force, which a rollback's remedy may have changed: a resumed run must keep them. */
function learningRateState(generator: Optimizer, discriminator: Optimizer): Stateful {
  const rates = (o: Optimizer) => ({ learningRate: o.learningRate, ...(o.baseLearningRate !== undefined ? { baseLearningRate: o.baseLearningRate } : {}) });
  return {
    saveState: () => ({ data: { generator: rates(generator), discriminator: rates(discriminator) } }),
    restoreState(state: SavedState, reason) {
      // After a rollback the remedy is applied on top of the rates now in force.
      if (reason === 'rollback') return;
      const data = state.data as Record<'generator' | 'discriminator', { learningRate: number; baseLearningRate?: number }>;
      for (const [optimizer, saved] of [
        [generator, data.generator],
        [discriminator, data.discriminator],
      ] as const) {
        optimizer.learningRate = saved.learningRate;
        if (saved.baseLearningRate !== undefined) optimizer.baseLearningRate = saved.baseLearningRate;
      }
    },
  };
}

function globalNorm(grads: readonly tf.Tensor[]): tf.Scalar {
  return tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
}

/**
 * The generic adversarial trainer: data order, the step, statistics,
 * checkpoints, callbacks and trackers, on any networks, loss and optimizers.
 */
export class AdversarialTrainer {
  private stopReason: string | undefined;
  private rollbackRequest: RollbackRequest | undefined;
  private interrupted = false;
  private readonly history: EpochMetrics[] = [];
  private readonly fixedLatent: tf.Tensor2D;
  private nets: StepNetworks;
  private position: TrainingPosition;
  /** Steps done, updated every step (the position moves at epoch ends). */
  private stepsDone = 0;
  private readonly threshold: number;
  private readonly trainingView: TrainingView;
  /** What a checkpoint holds: the networks, the optimizers and every stateful part. */
  private readonly checkpointParts: CheckpointParts;

  constructor(private readonly parts: TrainerParts) {
    this.nets = { generator: parts.generator, discriminator: parts.discriminator, loss: parts.loss };
    this.position = { step: 0, epoch: 0, stepInEpoch: 0, partialSums: [], partialSeconds: 0 };
    this.threshold = parts.discriminatorOutput === 'probability' ? 0.5 : 0;
    this.fixedLatent = tf.randomNormal([64, parts.latentDim], 0, 1, 'float32', deriveSeed(parts.seed, Streams.fixedLatent));
    this.trainingView = this.view();
    const states: Record<string, Stateful> = { trainer: learningRateState(parts.generatorOptimizer, parts.discriminatorOptimizer) };
    parts.callbacks.forEach((callback, i) => {
      if (callback.state) states[`callbacks.${i}.${callback.name}`] = callback.state;
    });
    this.checkpointParts = { ...parts, states };
  }

  /** Asks the loop to stop at the next step, checkpoint where it is and end KILLED (SIGINT/SIGTERM). */
  interrupt(): void {
    this.interrupted = true;
  }

  get stepsPerEpoch(): number {
    const { batchSize, stepsPerEpoch, dropRemainder } = this.parts.settings;
    const full = dropRemainder ? Math.floor(this.parts.dataset.size / batchSize) : Math.ceil(this.parts.dataset.size / batchSize);
    return stepsPerEpoch === null ? full : Math.min(full, stepsPerEpoch);
  }

  async train(resume?: LoadedCheckpoint): Promise<TrainOutcome> {
    const { parts } = this;
    const { settings } = parts;
    const stepsPerEpoch = this.stepsPerEpoch;
    if (stepsPerEpoch < 1) {
      // A setting that does not fit the data: bad input (exit code 2), not a crash.
      throw new UserInputError(`${parts.dataset.source}: ${parts.dataset.size} images make no batch of ${settings.batchSize}; lower trainer.batchSize or add images`);
    }
    mkdirSync(parts.runDir, { recursive: true });
    if (resume) {
      const missing = applyCheckpoint(resume, this.checkpointParts, 'resume');
      for (const name of missing) parts.progress.line(`resume: ${resume.dir} holds no state for ${name} (added since?); it starts afresh`);
      this.position = resume.manifest.position;
      this.stepsDone = this.position.step;
      this.history.push(...this.readHistory(this.position.epoch));
      parts.progress.line(`resuming from ${resume.dir} (epoch ${this.position.epoch + 1}, step ${this.position.step})`);
    }
    const view = this.trainingView;
    for (const callback of parts.callbacks) await callback.onTrainStart?.(view);

    let status: RunStatus = 'FINISHED';
    while (this.position.epoch < settings.epochs) {
      this.position = await this.runEpoch(this.position, stepsPerEpoch);
      if (this.interrupted) {
        status = 'KILLED';
        break;
      }
      const metrics = this.history[this.history.length - 1]!;
      for (const callback of parts.callbacks) await callback.onEpochEnd?.(view, metrics);
      this.recordEpoch(metrics);
      if (dueAfterEpoch(this.position.epoch, settings.checkpointEvery, settings.epochs) || this.stopReason) await this.checkpoint(this.position);
      if (this.stopReason) {
        parts.progress.line(`stopping after epoch ${this.position.epoch}: ${this.stopReason}`);
        break;
      }
      if (this.rollbackRequest) this.applyRollback(this.rollbackRequest);
    }
    const position = this.position;
    if (status === 'KILLED') {
      await this.checkpoint(position);
      parts.progress.line(`interrupted at step ${position.step}; checkpoint written, continue with --resume ${parts.runDir}`);
    }
    for (const callback of parts.callbacks) await callback.onTrainEnd?.(view, status);
    return { status, history: [...this.history], position, ...(this.stopReason ? { stopReason: this.stopReason } : {}) };
  }

  dispose(): void {
    this.fixedLatent.dispose();
  }

  private async runEpoch(start: TrainingPosition, stepsPerEpoch: number): Promise<TrainingPosition> {
    const { parts } = this;
    const { settings } = parts;
    const epoch = start.epoch;
    parts.generatorOptimizer.beginEpoch?.(epoch, settings.epochs);
    parts.discriminatorOptimizer.beginEpoch?.(epoch, settings.epochs);
    const order = permutation(parts.dataset.size, deriveSeed(parts.seed, Streams.dataOrder, epoch));
    let sums = start.partialSums.length === STAT_NAMES.length ? tf.tensor1d(start.partialSums) : tf.zeros([STAT_NAMES.length]);
    let stepInEpoch = start.stepInEpoch;
    let step = start.step;
    const began = performance.now() - start.partialSeconds * 1000;
    while (stepInEpoch < stepsPerEpoch && !this.interrupted) {
      const from = stepInEpoch * settings.batchSize;
      const indices = order.subarray(from, Math.min(from + settings.batchSize, order.length));
      const clock: TrainingClock = { step, epochs: epoch + stepInEpoch / stepsPerEpoch, totalEpochs: settings.epochs };
      const stats = tf.tidy(() => this.step(clock, imageBatch(parts.dataset, indices)));
      const next = tf.add(sums, stats);
      tf.dispose([sums, stats]);
      sums = next;
      stepInEpoch += 1;
      step += 1;
      this.stepsDone = step;
      for (const callback of parts.callbacks) callback.onStepEnd?.(this.trainingView);
      if (stepInEpoch % settings.logEvery === 0 && stepInEpoch < stepsPerEpoch) {
        const running = this.means(await sums.data(), stepInEpoch, (performance.now() - began) / 1000, settings.batchSize * stepInEpoch);
        parts.progress.step(epoch + 1, settings.epochs, stepInEpoch, stepsPerEpoch, running);
      }
      // Let signal handlers and network flushes run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const totals = Array.from(await sums.data());
    sums.dispose();
    const seconds = (performance.now() - began) / 1000;
    if (this.interrupted && stepInEpoch < stepsPerEpoch) {
      return { step, epoch, stepInEpoch, partialSums: totals, partialSeconds: seconds };
    }
    const metrics = { ...this.means(totals, stepInEpoch, seconds, settings.batchSize * stepInEpoch), epoch: epoch + 1, step } as EpochMetrics;
    this.history.push(metrics);
    return { step, epoch: epoch + 1, stepInEpoch: 0, partialSums: [], partialSeconds: 0 };
  }

  /**
   * The step's augmentations as one function of a batch: each batch shown to D
   * gets its own seeds from (run seed, step, the how-manieth batch shown).
   */
  private augmentFor(clock: TrainingClock): ((images: tf.Tensor4D) => tf.Tensor4D) | undefined {
    const augmentations = this.parts.augmentations ?? [];
    if (augmentations.length === 0) return undefined;
    let shown = 0;
    return (images) => {
      const batch = shown++;
      return augmentations.reduce((x, augmentation, i) => augmentation.apply(x, { ...clock, seed: deriveSeed(this.parts.seed, Streams.augment, clock.step, batch, i) }), images);
    };
  }

  /** One iteration; returns the step statistics as a tensor (nothing read back). */
  private step(clock: TrainingClock, real: tf.Tensor4D): tf.Tensor1D {
    const { parts } = this;
    const { settings } = parts;
    const { step } = clock;
    const batch = real.shape[0];
    const augment = this.augmentFor(clock);
    const nets: StepNetworks = augment ? { ...this.nets, augment } : this.nets;
    const latent = (k: number) => tf.randomNormal([batch, parts.latentDim], 0, 1, 'float32', deriveSeed(parts.seed, Streams.latent, step, k)) as tf.Tensor2D;
    let draws = 0;
    const uniform = (shape: number[]) => tf.randomUniform(shape, 0, 1, 'float32', deriveSeed(parts.seed, Streams.labelNoise, step, draws++));
    const dVars = trainableVariables(parts.discriminator);
    const gVars = trainableVariables(parts.generator);

    if (settings.updateMode === 'simultaneous') {
      parts.networkRandom.begin(step, 0);
      const r = simultaneousGradients(nets, real, { z: latent(0), uniform });
      parts.discriminatorOptimizer.applyGradients(dVars, r.dGrads);
      parts.generatorOptimizer.applyGradients(gVars, r.gGrads);
      return this.stats(r.dLoss, r.gLoss, r.pReal, r.pFake, r.pFake, globalNorm(r.dGrads), globalNorm(r.gGrads));
    }

    // Alternating: D steps on fresh fake batches, then G steps through the updated D.
    let d: ReturnType<typeof discriminatorGradients> | undefined;
    let dNorm: tf.Scalar = tf.scalar(0);
    // Each D and G update of the iteration is its own phase: its own dropout masks.
    for (let k = 0; k < settings.dSteps; k++) {
      parts.networkRandom.begin(step, k);
      const fake = tf.tidy(() => parts.generator.apply(latent(k), { training: true }) as tf.Tensor4D);
      d = discriminatorGradients(nets, real, fake, { uniform });
      dNorm = globalNorm(d.dGrads);
      parts.discriminatorOptimizer.applyGradients(dVars, d.dGrads);
    }
    let g: ReturnType<typeof generatorGradients> | undefined;
    let gNorm: tf.Scalar = tf.scalar(0);
    for (let k = 0; k < settings.gSteps; k++) {
      parts.networkRandom.begin(step, settings.dSteps + k);
      g = generatorGradients(nets, latent(settings.dSteps + k));
      gNorm = globalNorm(g.gGrads);
      parts.generatorOptimizer.applyGradients(gVars, g.gGrads);
    }
    return this.stats(d!.dLoss, g!.gLoss, d!.pReal, d!.pFake, g!.pFake, dNorm, gNorm);
  }

  private stats(dLoss: tf.Scalar, gLoss: tf.Scalar, pReal: tf.Tensor, pFakeD: tf.Tensor, pFakeG: tf.Tensor, dNorm: tf.Scalar, gNorm: tf.Scalar): tf.Tensor1D {
    const t = this.threshold;
    const rate = (x: tf.Tensor) => tf.mean(tf.cast(x, 'float32'));
    const score = (p: tf.Tensor) => (this.parts.discriminatorOutput === 'probability' ? tf.mean(p) : tf.mean(tf.sigmoid(p)));
    return tf.stack([
      dLoss,
      gLoss,
      rate(tf.greaterEqual(pReal, t)),
      rate(tf.less(pFakeD, t)),
      rate(tf.greaterEqual(pFakeG, t)),
      score(pReal),
      score(pFakeD),
      dNorm,
      gNorm,
    ]) as tf.Tensor1D;
  }

  private means(totals: ArrayLike<number>, count: number, seconds: number, images: number): Omit<EpochMetrics, 'epoch' | 'step'> {
    const out: Record<string, number> = {};
    STAT_NAMES.forEach((name, i) => (out[name] = (totals[i] ?? 0) / Math.max(1, count)));
    out['d_acc'] = (out['d_real_acc']! + out['d_fake_acc']!) / 2;
    out['images_per_s'] = seconds > 0 ? images / seconds : 0;
    out['seconds'] = seconds;
    return out as Omit<EpochMetrics, 'epoch' | 'step'>;
  }

  private recordEpoch(metrics: EpochMetrics): void {
    const { parts } = this;
    appendFileSync(join(parts.runDir, 'metrics.jsonl'), `${JSON.stringify(metrics)}\n`);
    for (const tracker of parts.trackers) tracker.logMetrics(metrics.epoch, metrics);
    parts.progress.epoch(metrics, parts.settings.epochs);
  }

  /** The epochs already logged up to a checkpoint; later lines (written after it) are dropped. */
  private readHistory(epochs: number): EpochMetrics[] {
    const path = join(this.parts.runDir, 'metrics.jsonl');
    if (!existsSync(path)) return [];
    const kept = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as EpochMetrics)
      .filter((m) => m.epoch <= epochs);
    writeFileSync(path, kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
    return kept;
  }

  /** A rolling checkpoint of `position` (the newest `keepCheckpoints` are kept), or a labelled snapshot. */
  private checkpoint(position: TrainingPosition, label?: string): Promise<string> {
    const { parts } = this;
    const keep = label === undefined ? parts.settings.keepCheckpoints : 0;
    return saveCheckpoint(parts.runDir, this.checkpointParts, position, parts.seed, deriveSeed(parts.seed, Streams.dataOrder, position.epoch), keep, label);
  }


  /**
   * Goes back to a snapshot: its weights, optimizer state and position; the
   * epochs after it move from the history to `rollbacks.jsonl`; then the remedy.
   */
  private applyRollback(request: RollbackRequest): void {
    const { parts } = this;
    this.rollbackRequest = undefined;
    const label = request.to ?? 'healthy';
    const snapshot = readCheckpoint(join(parts.runDir, 'checkpoints', label));
    applyCheckpoint(snapshot, this.checkpointParts, 'rollback');
    const from = this.position;
    this.position = snapshot.manifest.position;
    this.stepsDone = this.position.step;
    const dropped = this.history.splice(this.position.epoch);
    const record = { at_epoch: from.epoch, back_to_epoch: this.position.epoch, reason: request.reason, remedy: describeRemedy(request), dropped_epochs: dropped };
    appendFileSync(join(parts.runDir, 'rollbacks.jsonl'), `${JSON.stringify(record)}\n`);
    writeFileSync(join(parts.runDir, 'metrics.jsonl'), this.history.map((m) => `${JSON.stringify(m)}\n`).join(''));
    if (request.loss) this.nets = { ...this.nets, loss: request.loss };
    scaleLearningRate(parts.discriminatorOptimizer, request.discriminatorLearningRateFactor);
    scaleLearningRate(parts.generatorOptimizer, request.generatorLearningRateFactor);
    for (const tracker of parts.trackers) tracker.setTags({ 'duel.rollback': `epoch ${from.epoch} -> ${this.position.epoch}: ${request.reason}` });
    parts.progress.line(`rolled back from epoch ${from.epoch} to epoch ${this.position.epoch} (${request.reason}); remedy: ${describeRemedy(request)}`);
  }

  private view(): TrainingView {
    const { parts } = this;
    const trainer = this;
    return {
      runDir: parts.runDir,
      get epoch() {
        return trainer.position.epoch;
      },
      get step() {
        return trainer.stepsDone;
      },
      totalEpochs: parts.settings.epochs,
      generator: parts.generator,
      discriminator: parts.discriminator,
      discriminatorOutput: parts.discriminatorOutput,
      latentDim: parts.latentDim,
      dataset: parts.dataset,
      fixedLatent: this.fixedLatent,
      history: this.history,
      requestStop(reason: string) {
        trainer.stopReason ??= reason;
      },
      saveSnapshot(label: string) {
        if (!/^[a-z][a-z0-9-]*$/.test(label)) throw new Error(`snapshot label '${label}': use lower-case letters, digits and dashes`);
        return trainer.checkpoint(trainer.position, label);
      },
      rollback(request: RollbackRequest) {
        trainer.rollbackRequest ??= request;
      },
      useLoss(loss: GanLoss) {
        trainer.nets = { ...trainer.nets, loss };
      },
      log: (line: string) => parts.progress.line(line),
    };
  }
}
