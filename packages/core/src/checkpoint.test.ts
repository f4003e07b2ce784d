import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readdirSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyCheckpoint, loadLatestCheckpoint, saveCheckpoint, type CheckpointParts } from './checkpoint';
import type { Optimizer, SavedState, Stateful, TensorMap } from './contracts';
import { UserInputError } from './errors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A stand-in optimizer holding one slot per variable (unit test only). */
class SlotOptimizer implements Optimizer {
  readonly name = 'slots';
  learningRate = 0.1;
  iterations = 0;
  slots: tf.Tensor[] = [];
  applyGradients(): void {}
  getState(): { iterations: number; tensors: TensorMap } {
    return { iterations: this.iterations, tensors: Object.fromEntries(this.slots.map((s, i) => [`m/${i}`, s.clone()])) };
  }
  setState(state: { iterations: number; tensors: TensorMap }): void {
    this.iterations = state.iterations;
    this.slots = Object.keys(state.tensors).sort().map((k) => state.tensors[k]!.clone());
  }
  dispose(): void {}
}

function parts(seed: number): CheckpointParts {
  const net = () =>
    tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed }) }), tf.layers.batchNormalization()] });
  const g = new SlotOptimizer();
  g.iterations = seed;
  g.slots = [tf.fill([2, 3], seed)];
  return { generator: net(), discriminator: net(), generatorOptimizer: g, discriminatorOptimizer: new SlotOptimizer() };
}

const position = (step: number) => ({ step, epoch: step, stepInEpoch: 0, partialSums: [], partialSeconds: 0 });
const values = (p: CheckpointParts) => [...p.generator.weights, ...p.discriminator.weights].map((w) => Array.from(w.read().dataSync()));

describe('checkpoints', () => {
  it('round-trip networks (non-trainable weights too), optimizer state and position; keep the newest N', async () => {
    const run = mkdtempSync(join(tmpdir(), 'duel-ckpt-'));
    const a = parts(1);
    for (const step of [1, 2, 3]) await saveCheckpoint(run, a, position(step), 42, 7, 2);
    expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual(['latest.json', 'step-00000002', 'step-00000003']);
    const b = parts(2);
    expect(values(b)).not.toEqual(values(a));
    const loaded = loadLatestCheckpoint(run);
    expect(loaded.manifest.position.step).toBe(3);
    applyCheckpoint(loaded, b);
    expect(values(b)).toEqual(values(a));
    expect(b.generatorOptimizer.iterations).toBe(1);
    expect(Array.from((b.generatorOptimizer as SlotOptimizer).slots[0]!.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('skip a damaged newest checkpoint; with none readable, a UserInputError naming the folder', async () => {
    const run = mkdtempSync(join(tmpdir(), 'duel-ckpt-'));
    const a = parts(1);
    await saveCheckpoint(run, a, position(1), 42, 7, 3);
    await saveCheckpoint(run, a, position(2), 42, 7, 3);
    truncateSync(join(run, 'checkpoints', 'step-00000002', 'tensors.bin'), 5);
    expect(loadLatestCheckpoint(run).manifest.position.step).toBe(1);
    truncateSync(join(run, 'checkpoints', 'step-00000001', 'tensors.bin'), 5);
    expect(() => loadLatestCheckpoint(run)).toThrow(UserInputError);
    expect(() => loadLatestCheckpoint(run)).toThrow(/checksum mismatch/);
  });

  it("refuse another experiment's checkpoint with the tensor that does not fit", async () => {
    const run = mkdtempSync(join(tmpdir(), 'duel-ckpt-'));
    await saveCheckpoint(run, parts(1), position(1), 42, 7);
    const other = parts(1);
    other.generator = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 }), tf.layers.batchNormalization()] });
    expect(() => applyCheckpoint(loadLatestCheckpoint(run), other)).toThrow(/'generator\/0' has shape \[2,3\] but the network needs \[4,3\]/);
  });

  it('carry the state of stateful parts (tensors and JSON), say why they are restored, and report parts the checkpoint lacks', async () => {
    const run = mkdtempSync(join(tmpdir(), 'duel-ckpt-'));
    /** A part holding one tensor and a counter, recording each restore. */
    const part = (fill: number, count: number) => {
      const restored: { values: number[]; data: unknown; reason: string }[] = [];
      const state: Stateful = {
        saveState: (): SavedState => ({ tensors: { average: tf.fill([2, 2], fill) }, data: { count } }),
        restoreState: (saved, reason) => restored.push({ values: Array.from(saved.tensors!['average']!.dataSync()), data: saved.data, reason }),
      };
      return { state, restored };
    };
    const saved = part(0.5, 7);
    const source = { ...parts(1), states: { ema: saved.state } };
    const before = tf.memory().numTensors;
    await saveCheckpoint(run, source, position(1), 42, 7);
    // Every copy the parts handed over (optimizer slots, the state's tensor) was disposed.
    expect(tf.memory().numTensors).toBe(before);
    const manifest = loadLatestCheckpoint(run).manifest;
    expect(manifest.states).toEqual({ ema: { count: 7 } });
    expect(manifest.tensors.map((t) => t.name)).toContain('state.ema/average');

    const target = part(0, 0);
    const late = part(0, 0);
    const missing = applyCheckpoint(loadLatestCheckpoint(run), { ...parts(2), states: { ema: target.state, added: late.state } }, 'rollback');
    expect(target.restored).toEqual([{ values: [0.5, 0.5, 0.5, 0.5], data: { count: 7 }, reason: 'rollback' }]);
    expect(missing).toEqual(['added']);
    expect(late.restored).toEqual([]);
  });
});
