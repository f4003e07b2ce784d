import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duel } from './support/cli';
import { readJsonLines, tempDir, tinySet } from './support/runs';

const experiment = join(__dirname, '..', 'experiments', 'dcgan-fashion-mnist.yaml');
// The classifier learns from 2000 labelled images of its own, not from the run's 192.
const extractor = '{type: domain-classifier, options: {maxImages: 2000, data: {type: fashion-mnist, options: {split: train, imageSize: 32, limit: 2000}}}}';
const callbacks = `callbacks=[{type: evaluation, options: {every: 1, samples: 200, metrics: [fid, kid, pr], kidSubsetSize: 100, extractor: ${extractor}}}, {type: ema-generator, options: {}}, {type: generator-snapshots, options: {every: 1}}]`;

describe('evaluation during training and `duel evaluate` afterwards', () => {
  it('the callback scores every epoch and keeps the best; evaluate gives the same figure for the same generator, also for an epoch kept by generator-snapshots, and scores the EMA one apart', async () => {
    const root = tempDir('duel-evaluate-');
    const cache = join(root, 'cache');
    const out = join(root, 'run');
    const env = { DUEL_CACHE_DIR: cache };
    const trained = await duel(['train', experiment, '--out', out, ...[...tinySet, 'trainer.epochs=2', callbacks].flatMap((s) => ['--set', s])], { env });
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stderr).toMatch(/domain-classifier: training on 2000 images of \S*train-images/);
    // Built before the first step, not at the first evaluation.
    expect(trained.stderr.indexOf('domain-classifier: test accuracy')).toBeLessThan(trained.stderr.indexOf('epoch 1/2'));
    const metrics = readJsonLines(join(out, 'metrics.jsonl'));
    expect(metrics.map((m) => Number.isFinite(m['fid']) && Number.isFinite(m['kid']) && Number.isFinite(m['precision']))).toEqual([true, true]);
    const best = JSON.parse(readFileSync(join(out, 'checkpoints', 'best', 'best.json'), 'utf8'));
    expect(best.value).toBe(Math.min(...metrics.map((m) => m['fid']!)));

    // Afterwards, with the run's own extractor (found in its cache) and the callback's sample count and seed.
    const evaluated = await duel(['evaluate', out, '--metrics', 'fid,kid', '--n', '200'], { env });
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stderr).not.toMatch(/training on/);
    const result = JSON.parse(evaluated.stdout.trim().split('\n').at(-1)!);
    expect(result.extractor.id).toBe('domain-classifier');
    expect(result.fid).toBeCloseTo(metrics.at(-1)!['fid']!, 6);
    expect(JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'))).toMatchObject({ generator: 'generator', fid: result.fid });

    const ema = await duel(['evaluate', out, '--metrics', 'fid', '--n', '200', '--generator', 'generator-ema'], { env });
    expect(ema.code, ema.stderr).toBe(0);
    const emaResult = JSON.parse(readFileSync(join(out, 'evaluation-generator-ema.json'), 'utf8'));
    expect(emaResult.generator).toBe('generator-ema');
    expect(emaResult.extractor).toEqual(result.extractor);
    expect(emaResult.fid).not.toBe(result.fid);
    expect(existsSync(join(out, 'evaluation.json'))).toBe(true);

    // An earlier epoch's generator, kept by generator-snapshots, scores what the callback logged at that epoch.
    const early = await duel(['evaluate', out, '--metrics', 'fid', '--n', '200', '--generator', 'generators/epoch-0001'], { env });
    expect(early.code, early.stderr).toBe(0);
    const earlyResult = JSON.parse(readFileSync(join(out, 'evaluation-generators-epoch-0001.json'), 'utf8'));
    expect(earlyResult.generator).toBe('generators/epoch-0001');
    expect(earlyResult.fid).toBeCloseTo(metrics[0]!['fid']!, 6);
    expect(earlyResult.fid).not.toBe(result.fid);
  }, 600_000);
});
