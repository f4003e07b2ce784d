import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duel } from './support/cli';
import { readJsonLines, tempDir, tinySet } from './support/runs';

const experiments = join(__dirname, '..', 'experiments');

describe("a user's own plugins", () => {
  it('the example file registers a loss and a callback by name, and the experiment trains with them', async () => {
    const out = join(tempDir(), 'run');
    const result = await duel(['train', join(experiments, 'dcgan-fashion-mnist-ragan.yaml'), '--out', out, ...[...tinySet, 'trainer.epochs=2'].flatMap((s) => ['--set', s])]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/score gap -?\d/);
    const resolved = JSON.parse(readFileSync(join(out, 'experiment.resolved.json'), 'utf8'));
    expect(resolved.loss.type).toBe('relativistic-average');
    expect(resolved.model.discriminator.options.output).toBe('logit');
    const metrics = readJsonLines(join(out, 'metrics.jsonl'));
    expect(metrics).toHaveLength(2);
    expect(metrics.every((m) => Number.isFinite(m['score_gap']) && Number.isFinite(m['d_loss']))).toBe(true);
  });

  it('replacing the loss or an optimizer of the LEGO experiment is one line', async () => {
    const lego = join(experiments, 'dcgan-lego.yaml');
    const loss = await duel(['train', lego, '--dry-run', '--set', 'loss.type=one-sided-label-smoothing']);
    expect(loss.code, loss.stderr).toBe(0);
    expect(JSON.parse(loss.stdout).loss.type).toBe('one-sided-label-smoothing');
    const opt = await duel(['train', lego, '--dry-run', '--set', 'optimizers.discriminator={type: rmsprop, options: {learningRate: 0.0001}}']);
    expect(opt.code, opt.stderr).toBe(0);
    expect(JSON.parse(opt.stdout).optimizers.discriminator).toMatchObject({ type: 'rmsprop', options: { learningRate: 0.0001 } });
  });
});
