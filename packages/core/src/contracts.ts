import type * as tf from '@tensorflow/tfjs';

/** Height, width and channels of the images a run trains on. */
export interface ImageShape {
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
}

/**
 * Deterministic randomness for one training step. The trainer opens a step
 * with its index; every draw inside it (latent vectors, label noise, dropout
 * masks) gets its own seed from (run seed, step, draw order), so a resumed run
 * repeats the interrupted one exactly without saving generator states.
 */
export interface StepRandom {
  /** A fresh 32-bit seed; successive calls within a step give different seeds. */
  nextSeed(): number;
}

/** What a generator or discriminator factory is given besides its options. */
export interface NetworkContext {
  readonly imageShape: ImageShape;
  /** Seed for the initial weights (from the run seed), so a run is reproducible. */
  readonly seed: number;
  /** Source of dropout seeds during training; set by the trainer. */
  readonly random: StepRandom;
}

/**
 * A network the trainer can step: a tfjs LayersModel. Stochastic layers draw
 * their seeds from the context's `random`.
 */
export type Network = tf.LayersModel;

/** What a discriminator's last layer emits, so losses and accuracies read it right. */
export type DiscriminatorOutput = 'probability' | 'logit';

/** What a generator or discriminator plugin's factory returns. */
export interface BuiltNetwork {
  readonly model: Network;
  /** Discriminators: what the last layer emits. */
  readonly output?: DiscriminatorOutput;
  /** Generators: the length of the latent vector. */
  readonly latentDim?: number;
}

/** Inputs to the discriminator half of a loss. */
export interface DiscriminatorLossInput {
  /** D(x) for the real batch. */
  readonly real: tf.Tensor;
  /** D(G(z)) for the fake batch. */
  readonly fake: tf.Tensor;
  /** The real images (for penalties such as WGAN-GP). */
  readonly realImages: tf.Tensor4D;
  /** The generated images (for penalties). */
  readonly fakeImages: tf.Tensor4D;
  /** Applies the discriminator in training mode (for penalties). */
  readonly discriminate: (images: tf.Tensor4D) => tf.Tensor;
  /**
   * U(0, 1) draws of a shape (label noise, interpolation weights). The trainer
   * seeds them per step; the golden test injects the reference's draws.
   */
  readonly uniform: (shape: number[]) => tf.Tensor;
}

/**
 * A GAN loss in two halves, usable on their own. Both return scalars and
 * must be pure tensor functions: the trainer differentiates through them.
 */
export interface GanLoss {
  /** What the loss expects the discriminator to emit. */
  readonly expects: DiscriminatorOutput;
  discriminatorLoss(input: DiscriminatorLossInput): tf.Scalar;
  generatorLoss(fake: tf.Tensor): tf.Scalar;
}

/** Named tensors: the form optimizer state and checkpoints take. */
export type TensorMap = Record<string, tf.Tensor>;

/** Where a run is, for parts whose behaviour changes over it (annealing). */
export interface TrainingClock {
  /** Steps done since the start of the run. */
  readonly step: number;
  /** Epochs done, with the fraction of the current one (0.5 = half way through epoch 1). */
  readonly epochs: number;
  readonly totalEpochs: number;
}

/** What an augmentation is given for one batch. */
export interface AugmentationDraw extends TrainingClock {
  /** Seed for this batch's random choices; fixed by (run seed, step, call), so resume repeats them. */
  readonly seed: number;
}

/**
 * A differentiable transform of every batch the discriminator sees, real
 * and fake, in both halves of the step (DiffAugment, instance noise). The
 * generator's gradient flows through it, so it must be made of tensor ops.
 */
export interface Augmentation {
  readonly name: string;
  apply(images: tf.Tensor4D, draw: AugmentationDraw): tf.Tensor4D;
}

/** State a part keeps across steps, saved in every checkpoint beside the weights. */
export interface SavedState {
  /** Copies of state tensors (the checkpoint disposes them). */
  readonly tensors?: TensorMap;
  /** Plain JSON (counters, flags). */
  readonly data?: unknown;
}

/**
 * A part whose state a checkpoint must carry for an exact resume (an EMA of
 * the weights, a count of rollbacks). `restore` is told why: a rollback
 * returns the weights to a snapshot, and some state (the EMA) goes back with
 * them while some (how many rollbacks were made) must not.
 */
export interface Stateful {
  saveState(): SavedState;
  restoreState(state: SavedState, reason: 'resume' | 'rollback'): void;
}

/**
 * An optimizer that touches only the variables it is given. Its state is
 * exported and restored whole, so resume is exact.
 */
export interface Optimizer {
  readonly name: string;
  /** Applies gradients (same order as `variables`). Does not dispose them. */
  applyGradients(variables: readonly tf.Variable[], gradients: readonly tf.Tensor[]): void;
  /** The learning rate now in force (schedules change it). */
  learningRate: number;
  /** The rate a schedule starts from, when the optimizer has a schedule. */
  baseLearningRate?: number;
  /** The number of updates applied so far. */
  readonly iterations: number;
  /** Copies of every state tensor, keyed by a stable name. */
  getState(): { iterations: number; tensors: TensorMap };
  /** Called by the trainer before each epoch (0-based), for learning-rate schedules. */
  beginEpoch?(epoch: number, totalEpochs: number): void;
  /** Restores what `getState` returned (takes ownership of nothing; copies). */
  setState(state: { iterations: number; tensors: TensorMap }, variables: readonly tf.Variable[]): void;
  dispose(): void;
}

/** A learning-rate schedule: the rate for a given epoch (0-based) and base rate. */
export interface LearningRateSchedule {
  rate(epoch: number, baseRate: number): number;
}

/** A labelled or unlabelled set of images decoded once, held in memory. */
export interface ImageDataset {
  /** Where the images came from (a folder, a file), for logs and errors. */
  readonly source: string;
  readonly shape: ImageShape;
  /** Number of images. */
  readonly size: number;
  /** Pixels as uint8, N x H x W x C, row-major. */
  readonly pixels: Uint8Array;
  /** One class index per image, when the source has labels. */
  readonly labels?: Int32Array;
  /** Class names by index, when the source has labels. */
  readonly classNames?: readonly string[];
  /** Files that were skipped (only when the user asked to skip bad files). */
  readonly skipped: readonly { file: string; reason: string }[];
}

/** What a data source factory is given. */
export interface DataContext {
  /** Working directory relative paths resolve against (the experiment file's folder). */
  readonly baseDir: string;
  /** Folder for decoded caches. */
  readonly cacheDir: string;
  readonly log: (line: string) => void;
}

/** A source of training images. */
export interface DataSource {
  load(): Promise<ImageDataset>;
}

/** Mean figures of one epoch. */
export interface EpochMetrics {
  epoch: number;
  step: number;
  d_loss: number;
  g_loss: number;
  d_real_acc: number;
  d_fake_acc: number;
  d_acc: number;
  g_acc: number;
  /** Mean D(x) and D(G(z)) as probabilities (sigmoid of logits for logit discriminators). */
  d_real_mean: number;
  d_fake_mean: number;
  /** Global gradient norms of each network's update. */
  grad_norm_d: number;
  grad_norm_g: number;
  images_per_s: number;
  seconds: number;
  [extra: string]: number;
}

/** Where a run writes and what it is. */
export interface RunInfo {
  readonly name: string;
  readonly runDir: string;
  /** The fully resolved experiment (plain JSON). */
  readonly experiment: Record<string, unknown>;
  /** Set for a trial of a sweep. */
  readonly parentRunId?: string;
  /** Extra tags (sweep trial settings and the like). */
  readonly tags?: Record<string, string>;
}

export type RunStatus = 'FINISHED' | 'FAILED' | 'KILLED';

/**
 * Somewhere a run's figures go. Metric logging must never block training:
 * implementations queue and flush on their own.
 */
export interface Tracker {
  readonly name: string;
  start(run: RunInfo): Promise<void>;
  logMetrics(step: number, metrics: Record<string, number>, timestamp?: number): void;
  logArtifact(localPath: string, artifactPath: string): void;
  setTags(tags: Record<string, string>): void;
  /** Flushes everything queued, then closes the run with its status. */
  end(status: RunStatus, error?: Error): Promise<void>;
  /** The id other runs refer to (a sweep's parent run). */
  readonly runId?: string;
}

/** A compute engine for tfjs: registers and selects a tfjs backend. */
export interface Backend {
  readonly name: string;
  /** Whether it can run here (its package is installed, its addon loads). */
  available(): Promise<boolean>;
  /** Makes it the active tfjs backend. */
  activate(): Promise<void>;
}

/** What callbacks see of a run. Read-only but for `requestStop`. */
export interface TrainingView {
  readonly runDir: string;
  readonly epoch: number;
  readonly step: number;
  readonly totalEpochs: number;
  readonly generator: Network;
  readonly discriminator: Network;
  readonly discriminatorOutput: DiscriminatorOutput;
  readonly latentDim: number;
  readonly dataset: ImageDataset;
  /** A fixed latent batch drawn once from the run seed (sample grids). */
  readonly fixedLatent: tf.Tensor2D;
  readonly history: readonly EpochMetrics[];
  /** Ends training after the current epoch, with a reason for the log. */
  requestStop(reason: string): void;
  /**
   * Writes the current state (networks, optimizers, position) as a named
   * snapshot, `checkpoints/<label>/`, kept apart from the rolling checkpoints
   * (`best`, `healthy`...). Replaces an older snapshot of that label atomically.
   */
  saveSnapshot(label: string): Promise<string>;
  /**
   * After this epoch's callbacks, go back to a snapshot and continue from
   * there with a remedy. Epochs after the snapshot leave the history (they
   * are kept in `rollbacks.jsonl`).
   */
  rollback(request: RollbackRequest): void;
  /** Replaces the loss from the next step (a remedy that a resumed run puts back in force). */
  useLoss(loss: GanLoss): void;
  readonly log: (line: string) => void;
}

/**
 * Upkeep on a schedule: grids, checkpoints, early stop, evaluation. All hooks
 * are optional; `onEpochEnd` may add figures to the epoch's metrics.
 */
export interface Callback {
  readonly name: string;
  onTrainStart?(view: TrainingView): Promise<void> | void;
  /**
   * After every optimisation step. Runs on the training path: tensor ops
   * only, no reads from the device (that would sync every step).
   */
  onStepEnd?(view: TrainingView): void;
  onEpochEnd?(view: TrainingView, metrics: EpochMetrics): Promise<void> | void;
  onTrainEnd?(view: TrainingView, status: RunStatus): Promise<void> | void;
  /** State that checkpoints carry (stored under the callback's name). */
  readonly state?: Stateful;
}

/** What a callback that writes files is given: each file goes on to the trackers. */
export interface ArtifactContext {
  /** `artifactPath` is where the file lies inside the run directory (`samples/epoch-0001.png`). */
  onArtifact?(path: string, artifactPath: string): void;
}

/** A rollback asked for by a callback (the diagnostics policy). */
export interface RollbackRequest {
  readonly reason: string;
  /** The snapshot label to go back to. @default 'healthy' */
  readonly to?: string;
  /** A replacement loss (e.g. the same loss with more label noise). */
  readonly loss?: GanLoss;
  /** Multiply the discriminator's learning rate by this. */
  readonly discriminatorLearningRateFactor?: number;
  /** Multiply the generator's learning rate by this. */
  readonly generatorLearningRateFactor?: number;
}
