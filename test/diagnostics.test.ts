import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duel } from './support/cli';
import { readJsonLines, tempDir } from './support/runs';

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
    const result = await duel(['train', experiment, '--out', out, ...args(['trainer.epochs=10', 'callbacks=[{type: diagnostics, options: {policy: rollback, remedy: {discriminatorLearningRateFactor: 0.1}}}]'])], { timeoutMs: 590_000 });
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
  }, 600_000);
});
