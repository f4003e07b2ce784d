import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duel } from './support/cli';
import { latestCheckpoint, readJsonLines, tempDir } from './support/runs';

const experiment = join(__dirname, '..', 'experiments', 'dcgan-fashion-mnist.yaml');
// Made to fail on purpose: the discriminator learns 10x faster than the generator.
const collapse = ['data.options.limit=512', 'data.options.imageSize=32', 'trainer.batchSize=32', 'optimizers.discriminator.options.learningRate=0.002'];
const args = (extra: string[]) => [...collapse, ...extra].flatMap((s) => ['--set', s]);

interface Finding {
  kind: string;
  epoch: number;
  policy: string;
}

describe('diagnostics on a run made to collapse (D learning rate 10x G)', () => {
  it.concurrent('warn: the collapse is detected and reported, training goes on', async () => {
    const out = join(tempDir(), 'warn');
    const result = await duel(['train', experiment, '--out', out, ...args(['trainer.epochs=8', 'callbacks=[{type: diagnostics, options: {policy: warn}}]'])], { timeoutMs: 590_000 });
    expect(result.code, result.stderr).toBe(0);
    // The discriminator wins: it dominates (fake accuracy pinned, g_loss climbing) or saturates.
    const findings = readJsonLines<Finding>(join(out, 'diagnostics.jsonl'));
    expect(findings.some((f) => f.kind === 'discriminator-dominating' || f.kind === 'discriminator-saturated')).toBe(true);
    expect(findings.every((f) => f.policy === 'warn')).toBe(true);
    expect(result.stderr).toMatch(/diagnostics: discriminator-(dominating|saturated) at epoch \d+/);
    // Warn only: no rollback, every epoch trained once.
    expect(existsSync(join(out, 'rollbacks.jsonl'))).toBe(false);
    expect(readJsonLines(join(out, 'metrics.jsonl')).map((m) => m['epoch'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 600_000);

  it.concurrent('rollback: it goes back to healthy epochs with the remedy and ends out of the collapse', async () => {
    const out = join(tempDir(), 'rollback');
    const policy = 'callbacks=[{type: diagnostics, options: {policy: rollback, remedy: {discriminatorLearningRateFactor: 0.1, loss: {type: bce-label-noise, options: {noise: 0.2}}}}}]';
    const result = await duel(['train', experiment, '--out', out, ...args(['trainer.epochs=10', policy])], { timeoutMs: 590_000 });
    expect(result.code, result.stderr).toBe(0);
    const rollbacks = readJsonLines<{ at_epoch: number; back_to_epoch: number; remedy: string }>(join(out, 'rollbacks.jsonl'));
    expect(rollbacks.length).toBeGreaterThanOrEqual(1);
    for (const r of rollbacks) {
      expect(r.back_to_epoch).toBeLessThan(r.at_epoch);
      expect(r.remedy).toContain('D learning rate x0.1');
    }
    expect(existsSync(join(out, 'checkpoints', 'healthy-0', 'manifest.json'))).toBe(true);
    const metrics = readJsonLines(join(out, 'metrics.jsonl'));
    // The history is the recovered run's: epochs 1..10 once each.
    expect(metrics.map((m) => m['epoch'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const last = metrics.at(-1)!;
    expect(Math.abs(last['d_real_mean']! - last['d_fake_mean']!)).toBeGreaterThan(0.02);
    const after = readJsonLines<Finding>(join(out, 'diagnostics.jsonl')).filter((f) => f.epoch > rollbacks.at(-1)!.back_to_epoch + 3);
    expect(after).toEqual([]);

    // The remedy is part of the run's state: the checkpoint holds the lowered rate and the
    // rollback count, and a resumed run keeps both and puts the remedy loss back in force.
    type States = { trainer: { discriminator: { learningRate: number }; generator: { learningRate: number } }; 'callbacks.0.diagnostics': { rollbacks: number } };
    const states = (dir: string) => (JSON.parse(readFileSync(join(latestCheckpoint(dir).dir, 'manifest.json'), 'utf8')) as { states: States }).states;
    const before = states(out);
    expect(before.trainer.discriminator.learningRate).toBeCloseTo(0.002 * 0.1 ** rollbacks.length, 12);
    expect(before.trainer.generator.learningRate).toBeCloseTo(0.0002, 12);
    expect(before['callbacks.0.diagnostics'].rollbacks).toBe(rollbacks.length);
    const resumed = await duel(['train', experiment, '--resume', out, ...args(['trainer.epochs=11', policy])], { timeoutMs: 590_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed after \d+ rollback\(s\); the remedy loss is back in force/);
    const later = states(out);
    expect(latestCheckpoint(out).epoch).toBe(11);
    expect(later.trainer.discriminator.learningRate).toBeLessThanOrEqual(before.trainer.discriminator.learningRate);
    expect(later['callbacks.0.diagnostics'].rollbacks).toBeGreaterThanOrEqual(rollbacks.length);
  }, 600_000);
});
