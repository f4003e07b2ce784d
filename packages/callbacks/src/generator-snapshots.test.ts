import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork, type EpochMetrics, type TrainingView } from '@duel/core';
import { generatorSnapshots, generatorSnapshotsOptions } from './generator-snapshots';

const runDir = mkdtempSync(join(tmpdir(), 'duel-snapshots-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

describe('generator-snapshots', () => {
  it('keeps the generator of every N-th epoch and of the last one, each with the weights of its epoch', async () => {
    const generator = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 3, useBias: false })] });
    const artifacts: string[] = [];
    const callback = await generatorSnapshots.create(generatorSnapshotsOptions.parse({ every: 2 }), { onArtifact: (_path, artifact) => artifacts.push(artifact) });
    const view = { runDir, generator, totalEpochs: 5 } as unknown as TrainingView;
    for (let epoch = 1; epoch <= 5; epoch++) {
      const kernel = tf.fill([2, 3], epoch);
      generator.weights[0]!.write(kernel);
      kernel.dispose();
      await callback.onEpochEnd!(view, { epoch } as EpochMetrics);
    }
    expect(readdirSync(join(runDir, 'generators')).sort()).toEqual(['epoch-0002', 'epoch-0004', 'epoch-0005']);
    for (const epoch of [2, 4, 5]) {
      const kept = await loadNetwork(join(runDir, 'generators', `epoch-000${epoch}`));
      expect(Array.from(kept.weights[0]!.read().dataSync())).toEqual(Array(6).fill(epoch));
      kept.dispose();
    }
    expect(artifacts).toEqual(['generators/epoch-0002/model.json', 'generators/epoch-0002/weights.bin', 'generators/epoch-0004/model.json', 'generators/epoch-0004/weights.bin', 'generators/epoch-0005/model.json', 'generators/epoch-0005/weights.bin']);
    expect(existsSync(join(runDir, 'generators', 'epoch-0003'))).toBe(false);
    generator.dispose();
  });
});
