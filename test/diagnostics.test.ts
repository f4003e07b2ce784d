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
    const result = await duel(['train', experiment, '--out', out, ...args(['trainer.epochs=8', 'callbacks=[{type: diagnostics, options: {policy: warn}}]'])]);
    expect(result.code, result.stderr).toBe(0);
    const findings = readJsonLines<Finding>(join(out, 'diagnostics.jsonl'));
    expect(findings.map((f) => f.kind)).toContain('discriminator-saturated');
    expect(result.stderr).toMatch(/diagnostics: discriminator-saturated at epoch \d+/);
    const last = readJsonLines(join(out, 'metrics.jsonl')).at(-1)!;
    expect(last['epoch']).toBe(8);
    // Still collapsed at the end: D scores everything alike at an extreme.
    expect(Math.abs(last['d_real_mean']! - last['d_fake_mean']!)).toBeLessThan(0.02);
  }, 600_000);

  it.concurrent('rollback: it goes back to healthy epochs with the remedy and ends out of the collapse', async () => {
    const out = join(tempDir(), 'rollback');
    const result = await duel(['train', experiment, '--out', out, ...args(['trainer.epochs=10', 'callbacks=[{type: diagnostics, options: {policy: rollback, remedy: {discriminatorLearningRateFactor: 0.1}}}]'])]);
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
