import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duel } from './support/cli';
import { latestCheckpoint, readJsonLines, tempDir, tinySet } from './support/runs';

const experiment = join(__dirname, '..', 'experiments', 'dcgan-fashion-mnist-stabilised.yaml');
// Annealing over a fixed span: over "the whole run" it would differ between a 1-epoch run and a 2-epoch one.
const settings = [...tinySet, 'trainer.epochs=2', 'augment.1.options.annealEpochs=4'].flatMap((s) => ['--set', s]);

/** The float32 values of a saved network's weights file. */
const weights = (dir: string) => new Float32Array(new Uint8Array(readFileSync(join(dir, 'weights.bin'))).buffer);

describe('stabilisers: DiffAugment, instance noise, EMA generator', () => {
  it('train, change what D sees, write the averaged generator, and resume bit for bit with the average in the checkpoint', async () => {
    const root = tempDir('duel-stabilisers-');
    const whole = join(root, 'whole');
    const first = await duel(['train', experiment, '--out', whole, ...settings]);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(whole, 'samples', 'ema-0002.png'))).toBe(true);
    expect(existsSync(join(whole, 'generator-ema', 'model.json'))).toBe(true);
    // The average is a different generator from the last step's, of the same shape.
    const trained = weights(join(whole, 'generator'));
    const averaged = weights(join(whole, 'generator-ema'));
    expect(averaged.length).toBe(trained.length);
    expect(Array.from(averaged)).not.toEqual(Array.from(trained));
    const manifest = JSON.parse(readFileSync(join(latestCheckpoint(whole).dir, 'manifest.json'), 'utf8'));
    expect(manifest.tensors.filter((t: { name: string }) => t.name.startsWith('state.callbacks.1.ema-generator/')).length).toBeGreaterThan(10);
    expect(manifest.states['callbacks.1.ema-generator']).toEqual({ updates: 12 });
    // `sample` draws from either saved generator; a name the run has not saved is bad input.
    const grid = join(root, 'ema.png');
    const sampled = await duel(['sample', whole, '--generator', 'generator-ema', '--n', '4', '--out', grid]);
    expect(sampled.code, sampled.stderr).toBe(0);
    expect(readFileSync(grid).subarray(1, 4).toString()).toBe('PNG');
    const missing = await duel(['sample', whole, '--generator', 'generator-swa', '--n', '4', '--out', grid]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no saved generator generator-swa\/model\.json/);

    // Without the augmentations the same seeds train to other weights: they are applied.
    const plain = join(root, 'plain');
    expect((await duel(['train', experiment, '--out', plain, ...settings, '--set', 'augment=[]'])).code).toBe(0);
    expect(latestCheckpoint(plain).sha256).not.toBe(latestCheckpoint(whole).sha256);

    // One epoch, then resumed to two: the same weights, optimizer state and average.
    const split = join(root, 'split');
    expect((await duel(['train', experiment, '--out', split, ...settings, '--set', 'trainer.epochs=1'])).code).toBe(0);
    const resumed = await duel(['train', experiment, '--resume', split, ...settings]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).not.toMatch(/holds no state/);
    expect(latestCheckpoint(split).sha256).toBe(latestCheckpoint(whole).sha256);
    expect(Array.from(weights(join(split, 'generator-ema')))).toEqual(Array.from(averaged));
    const strip = (rows: Record<string, number>[]) => rows.map(({ images_per_s, seconds, ...rest }) => rest);
    expect(strip(readJsonLines(join(split, 'metrics.jsonl')))).toEqual(strip(readJsonLines(join(whole, 'metrics.jsonl'))));
  }, 600_000);

  it('a bad augmentation is named with its path before training', async () => {
    const result = await duel(['train', experiment, '--dry-run', '--set', 'augment.0.options.policy=[colour]', '--set', 'augment.1.type=gaussian-blur']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/augment\.0\.options\.policy\.0/);
    expect(result.stderr).toMatch(/augment\.1\.type.*gaussian-blur.*diffaugment, instance-noise/s);
  });
});
