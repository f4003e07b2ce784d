import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Network, Optimizer, Stateful } from './contracts';
import { UserInputError } from './errors';
import { writeDirAtomic, writeFileAtomic } from './files';

/** Where the trainer is: enough, with the weights, to continue exactly. */
export interface TrainingPosition {
  /** Optimisation steps (batches) done since the start of the run. */
  step: number;
  /** Epoch being trained (0-based); equal to the epoch count when finished. */
  epoch: number;
  /** Batches of `epoch` already done. */
  stepInEpoch: number;
  /** Running sums of the step statistics of the unfinished epoch. */
  partialSums: number[];
  /** Seconds spent in the unfinished epoch. */
  partialSeconds: number;
}

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  bytes: number;
}

interface CheckpointManifest {
  format: 'duel-checkpoint/1';
  position: TrainingPosition;
  seed: number;
  /** The data order is a function of (seed, epoch); kept here so a reader need not know that. */
  dataOrder: { seed: number; epoch: number };
  optimizers: { generator: number; discriminator: number };
  /** The JSON half of each stateful part's state, by part name (tensors are `state.<name>/<key>`). */
  states?: Record<string, unknown>;
  tensors: TensorEntry[];
  sha256: string;
  createdAt: string;
}

/** The parts a checkpoint holds. */
export interface CheckpointParts {
  generator: Network;
  discriminator: Network;
  generatorOptimizer: Optimizer;
  discriminatorOptimizer: Optimizer;
  /** Other state a resume needs (the trainer's own, callbacks'), by a stable name. */
  states?: Readonly<Record<string, Stateful>>;
}

/** Weights by position: layer names change with construction order, positions do not. */
function weightTensors(prefix: string, network: Network): [string, tf.Tensor][] {
  return network.weights.map((w, i) => [`${prefix}/${i}`, w.read()]);
}

/**
 * Writes `checkpoints/step-<n>` atomically, then points `latest.json` at it.
 * A crash at any moment leaves the previous checkpoint readable.
 */
export async function saveCheckpoint(runDir: string, parts: CheckpointParts, position: TrainingPosition, seed: number, dataOrderSeed: number, keep = 2, label?: string): Promise<string> {
  const gState = parts.generatorOptimizer.getState();
  const dState = parts.discriminatorOptimizer.getState();
  const saved = Object.entries(parts.states ?? {}).map(([name, part]) => [name, part.saveState()] as const);
  const owned = [...Object.values(gState.tensors), ...Object.values(dState.tensors), ...saved.flatMap(([, state]) => Object.values(state.tensors ?? {}))];
  const named: [string, tf.Tensor][] = [
    ...weightTensors('generator', parts.generator),
    ...weightTensors('discriminator', parts.discriminator),
    ...Object.entries(gState.tensors).map(([k, t]) => [`optimizer.generator/${k}`, t] as [string, tf.Tensor]),
    ...Object.entries(dState.tensors).map(([k, t]) => [`optimizer.discriminator/${k}`, t] as [string, tf.Tensor]),
    ...saved.flatMap(([name, state]) => Object.entries(state.tensors ?? {}).map(([k, t]) => [`state.${name}/${k}`, t] as [string, tf.Tensor])),
  ];
  const entries: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of named) {
    const values = await tensor.data();
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    entries.push({ name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', offset, bytes: bytes.byteLength });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  tf.dispose(owned);
  const blob = Buffer.concat(chunks);
  const manifest: CheckpointManifest = {
    format: 'duel-checkpoint/1',
    position,
    seed,
    dataOrder: { seed: dataOrderSeed, epoch: position.epoch },
    optimizers: { generator: gState.iterations, discriminator: dState.iterations },
    states: Object.fromEntries(saved.map(([name, state]) => [name, state.data ?? null])),
    tensors: entries,
    sha256: createHash('sha256').update(blob).digest('hex'),
    createdAt: new Date().toISOString(),
  };
  // A labelled snapshot (best, healthy) lives beside the rolling ones and is never pruned.
  const dirName = label ?? `step-${String(position.step).padStart(8, '0')}`;
  const dir = join(runDir, 'checkpoints', dirName);
  writeDirAtomic(dir, { 'tensors.bin': blob, 'manifest.json': JSON.stringify(manifest, null, 1) });
  if (label) return dir;
  writeFileAtomic(join(runDir, 'checkpoints', 'latest.json'), JSON.stringify({ checkpoint: dirName, step: position.step }));
  pruneCheckpoints(join(runDir, 'checkpoints'), keep);
  return dir;
}

function pruneCheckpoints(dir: string, keep: number): void {
  const all = readdirSync(dir).filter((n) => /^step-\d+$/.test(n)).sort();
  for (const name of all.slice(0, Math.max(0, all.length - keep))) rmSync(join(dir, name), { recursive: true, force: true });
}

/** A checkpoint read from disk and verified, not yet applied. */
export interface LoadedCheckpoint {
  readonly dir: string;
  readonly manifest: CheckpointManifest;
  readonly tensors: Map<string, { shape: number[]; dtype: 'float32' | 'int32'; values: Float32Array | Int32Array }>;
}

/** Reads and verifies one checkpoint folder (a rolling one or a labelled snapshot). */
export function readCheckpoint(dir: string): LoadedCheckpoint {
  const manifestPath = join(dir, 'manifest.json');
  const blobPath = join(dir, 'tensors.bin');
  if (!existsSync(manifestPath) || !existsSync(blobPath)) throw new Error(`${dir}: manifest.json or tensors.bin is missing`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CheckpointManifest;
  if (manifest.format !== 'duel-checkpoint/1') throw new Error(`${manifestPath}: unknown format ${JSON.stringify(manifest.format)}`);
  const blob = readFileSync(blobPath);
  const digest = createHash('sha256').update(blob).digest('hex');
  if (digest !== manifest.sha256) throw new Error(`${blobPath}: checksum mismatch (the file is damaged or incomplete)`);
  const tensors = new Map<string, { shape: number[]; dtype: 'float32' | 'int32'; values: Float32Array | Int32Array }>();
  for (const entry of manifest.tensors) {
    const bytes = blob.subarray(entry.offset, entry.offset + entry.bytes);
    const copy = new Uint8Array(bytes).buffer;
    tensors.set(entry.name, { shape: entry.shape, dtype: entry.dtype, values: entry.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy) });
  }
  return { dir, manifest, tensors };
}

/**
 * The newest checkpoint of a run directory that verifies; older ones are
 * tried when the newest is damaged. Bad folders are a UserInputError naming the path.
 */
export function loadLatestCheckpoint(runDir: string): LoadedCheckpoint {
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(runDir)) throw new UserInputError(`--resume ${runDir}: no such directory`);
  if (!existsSync(dir)) throw new UserInputError(`--resume ${runDir}: not a duel run directory (no checkpoints/ folder)`);
  const candidates = readdirSync(dir).filter((n) => /^step-\d+$/.test(n)).sort().reverse();
  const problems: string[] = [];
  for (const name of candidates) {
    try {
      return readCheckpoint(join(dir, name));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  throw new UserInputError(
    `--resume ${runDir}: no readable checkpoint in ${dir}${problems.length > 0 ? `:\n  ${problems.join('\n  ')}` : ' (it is empty)'}`,
  );
}

/**
 * Writes a checkpoint's tensors into the networks, optimizers and stateful
 * parts; shapes must match. Returns the stateful parts the checkpoint has no
 * state for (added to the experiment after it was written), which the caller reports.
 */
export function applyCheckpoint(checkpoint: LoadedCheckpoint, parts: CheckpointParts, reason: 'resume' | 'rollback' = 'resume'): string[] {
  // The tensors stored under `<prefix>/`, keyed by the rest of their name; the caller disposes them.
  const tensorsUnder = (prefix: string) => {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, entry] of checkpoint.tensors) {
      if (name.startsWith(`${prefix}/`)) tensors[name.slice(prefix.length + 1)] = tf.tensor(entry.values, entry.shape, entry.dtype);
    }
    return tensors;
  };
  const take = (name: string, shape: readonly number[]) => {
    const entry = checkpoint.tensors.get(name);
    if (!entry) throw new UserInputError(`${checkpoint.dir}: the checkpoint has no tensor '${name}' (was it written by another experiment?)`);
    if (entry.shape.join('x') !== shape.join('x')) {
      throw new UserInputError(`${checkpoint.dir}: '${name}' has shape [${entry.shape}] but the network needs [${shape}] (another experiment's checkpoint?)`);
    }
    return tf.tensor(entry.values, entry.shape, entry.dtype);
  };
  for (const [prefix, network] of [
    ['generator', parts.generator],
    ['discriminator', parts.discriminator],
  ] as const) {
    const expected = checkpoint.manifest.tensors.filter((t) => t.name.startsWith(`${prefix}/`)).length;
    if (expected !== network.weights.length) {
      throw new UserInputError(`${checkpoint.dir}: the checkpoint's ${prefix} has ${expected} weights, the experiment's has ${network.weights.length}`);
    }
    network.weights.forEach((weight, i) => {
      const value = take(`${prefix}/${i}`, weight.shape as number[]);
      weight.write(value);
      value.dispose();
    });
  }
  for (const [prefix, optimizer, variables, iterations] of [
    ['optimizer.generator', parts.generatorOptimizer, parts.generator.trainableWeights, checkpoint.manifest.optimizers.generator],
    ['optimizer.discriminator', parts.discriminatorOptimizer, parts.discriminator.trainableWeights, checkpoint.manifest.optimizers.discriminator],
  ] as const) {
    const tensors = tensorsUnder(prefix);
    optimizer.setState({ iterations, tensors }, variables.map((w) => w.read() as tf.Variable));
    tf.dispose(Object.values(tensors));
  }
  const missing: string[] = [];
  const states = checkpoint.manifest.states ?? {};
  for (const [name, part] of Object.entries(parts.states ?? {})) {
    if (!(name in states)) {
      missing.push(name);
      continue;
    }
    const tensors = tensorsUnder(`state.${name}`);
    try {
      part.restoreState({ tensors, data: states[name] }, reason);
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }
  return missing;
}
