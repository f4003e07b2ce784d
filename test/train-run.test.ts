import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { duel } from './support/cli';
import { latestCheckpoint, readJsonLines, tempDir, tinySet } from './support/runs';

const experiment = join(__dirname, '..', 'experiments', 'dcgan-fashion-mnist.yaml');

describe('a training run on the real TF runtime, end to end', () => {
  const runDir = join(tempDir(), 'run');
  let stderr = '';

  beforeAll(async () => {
    const result = await duel(['train', experiment, '--out', runDir, '--set', 'trainer.epochs=2', ...tinySet.flatMap((s) => ['--set', s])]);
    stderr = result.stderr;
    expect(result.code, result.stderr).toBe(0);
  }, 300_000);

  it('says which backend it uses and prints one plain line per epoch off a terminal', () => {
    expect(stderr).toMatch(/backend: tensorflow/);
    expect(stderr.match(/^epoch [ 0-9]+\/2 .*d_loss .*g_loss .*img\/s$/gm)).toHaveLength(2);
    expect(stderr).not.toContain('\r');
  });

  it('writes the resolved experiment, metrics per epoch, a grid per epoch, the generator, checkpoints, the memorisation check', async () => {
    const resolved = JSON.parse(readFileSync(join(runDir, 'experiment.resolved.json'), 'utf8'));
    expect(resolved.loss).toEqual({ type: 'bce-label-noise', options: expect.objectContaining({ noise: 0.1 }) });
    expect(resolved.trainer.epochs).toBe(2);
    const metrics = readJsonLines(join(runDir, 'metrics.jsonl'));
    expect(metrics.map((m) => m['epoch'])).toEqual([1, 2]);
    for (const m of metrics) {
      for (const key of ['d_loss', 'g_loss', 'd_real_acc', 'd_fake_acc', 'd_acc', 'g_acc', 'images_per_s']) expect(Number.isFinite(m[key]), key).toBe(true);
      expect(m['d_acc']).toBeCloseTo((m['d_real_acc']! + m['d_fake_acc']!) / 2, 6);
    }
    expect(readdirSync(join(runDir, 'samples')).sort()).toEqual(['epoch-0001.png', 'epoch-0002.png']);
    const grid = await sharp(join(runDir, 'samples', 'epoch-0002.png')).metadata();
    expect(grid.width).toBe(8 * 32 + 9 * 2);
    expect(existsSync(join(runDir, 'generator', 'model.json'))).toBe(true);
    expect(existsSync(join(runDir, 'memorisation.png'))).toBe(true);
    expect(latestCheckpoint(runDir)).toMatchObject({ epoch: 2, step: 12 });
    expect(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'))).toMatchObject({ status: 'FINISHED', backend: 'tensorflow', epochs: 2 });
  });

  it('draws from the trained generator with `duel sample`', async () => {
    const out = join(tempDir(), 'grid.png');
    const result = await duel(['sample', runDir, '--n', '16', '--seed', '1', '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([4 * 32 + 5 * 2, 4 * 32 + 5 * 2]);
    const again = join(tempDir(), 'grid.png');
    await duel(['sample', runDir, '--n', '16', '--seed', '1', '--out', again]);
    expect(readFileSync(again).equals(readFileSync(out))).toBe(true);
  });
});
