/**
 * `pnpm bench:quality [--quick]`: does duel train the book's DCGAN as well as
 * Keras does? Both train the same recipe on the same data for the same number
 * of steps, then one scorer judges both.
 *
 *  - duel: experiments/dcgan-fashion-mnist.yaml through the library `train()`
 *    (trainer.epochs / stepsPerEpoch set to hit the step count, tracking local);
 *  - Keras: reference/keras_quality.py, the notebook's train_step on the same
 *    first `--limit` Fashion-MNIST training images (tf.image.resize bilinear to
 *    32x32, (x - 127.5) / 127.5), same networks, loss, label noise, Adam, batch.
 *
 * Each writes `--n` samples (inference mode; bench/quality-samples.ts format).
 * Both sets are scored by the SAME @duel/metrics code: the `domain-classifier`
 * extractor trained on Fashion-MNIST's training labels (cached under
 * .cache/domain-classifier), FID and KID against all 10,000 t10k test images.
 * A real-vs-real line (`--n` held-out training images against the same test
 * features) shows the FID floor at this sample size.
 *
 * Per seed, Keras then duel run one after the other in this process's
 * lifetime (Keras as a child process). The seeds differ in everything random
 * (initial weights, data order, latents, label noise, dropout); the spread
 * over seeds is the run-to-run noise the comparison must be read against.
 *
 * Prints a table, then as its LAST line one JSON object: {"fid", "keras_fid",
 * "kid", "keras_kid", "steps", "seeds", "fid_per_seed", "keras_fid_per_seed",
 * ...} (means over seeds).
 *
 * Options: --quick (1 seed, 100 steps, 1000 samples: 7.6 minutes measured
 * on 2 cores shared with other work at load 11, where a Keras step took 1.3 s
 * and a duel step 1.8 s; the default, 2 seeds of 1000 steps, took 75 minutes
 * at load 8); --seeds N (default 2, 1 with --quick); --steps N (default 1000:
 * the experiment's own 10 epochs of 100 batches); --limit N (training images,
 * default 12800 as in the experiment);
 * --n N (samples per model, default 2000); --seed-base S (first seed, default
 * 42); --out DIR (default runs/bench-quality-<time>).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { formatEpoch, loadNetwork, type EpochMetrics, type ImageDataset, type ProgressSink } from '@duel/core';
import { encodePng, fashionMnist, fashionMnistOptions, fromTensor, makeGrid } from '@duel/data';
import { createBackend, relaunchWithAllocator } from '@duel/engine';
import {
  computeMetrics,
  domainClassifierExtractor,
  domainClassifierOptions,
  extractGeneratedFeatures,
  extractorIdentity,
  extractRealFeatures,
  fid,
  generatorSampler,
  type ExtractedFeatures,
  type FeatureExtractor,
} from '@duel/metrics';
import { train } from '../packages/cli/src/run';
import { readSamples, writeSamples } from './quality-samples';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line: string) => process.stderr.write(`${line}\n`);
const clock = () => performance.now() / 1000;

// tcmalloc, as `pnpm duel` runs (TensorFlow's buffers otherwise cost page zeroing).
if (await relaunchWithAllocator()) process.exit(process.exitCode ?? 0);

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    steps: { type: 'string' },
    limit: { type: 'string', default: '12800' },
    n: { type: 'string' },
    'seed-base': { type: 'string', default: '42' },
    out: { type: 'string' },
  },
});

const quick = args.quick!;
const positiveInt = (name: string, text: string): number => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    say(`bench:quality: --${name} ${text}: expected a positive integer`);
    process.exit(2);
  }
  return value;
};
const seedCount = positiveInt('seeds', args.seeds ?? (quick ? '1' : '2'));
const steps = positiveInt('steps', args.steps ?? (quick ? '100' : '1000'));
const limit = positiveInt('limit', args.limit!);
const n = positiveInt('n', args.n ?? (quick ? '1000' : '2000'));
const seedBase = Number(args['seed-base']);
const seeds = Array.from({ length: seedCount }, (_, i) => seedBase + i);
const BATCH = 128;
const LATENT = 100;

// Epochs of equal length that add up to exactly `steps` (both trainers reshuffle each epoch).
const fullEpoch = Math.floor(limit / BATCH);
if (fullEpoch < 1) {
  say(`bench:quality: --limit ${limit} makes no batch of ${BATCH}`);
  process.exit(2);
}
let epochs = Math.ceil(steps / fullEpoch);
while (steps % epochs !== 0) epochs++;
const stepsPerEpoch = steps / epochs;

const outDir = resolve(args.out ?? join(root, 'runs', `bench-quality-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`));
mkdirSync(outDir, { recursive: true });
const cacheDir = resolve(process.env['DUEL_CACHE_DIR'] ?? join(root, '.cache/datasets'));
const timings: Record<string, number> = {};
const started = clock();

say(`bench:quality: ${seeds.length} seed(s) [${seeds.join(', ')}], ${steps} steps (${epochs} x ${stepsPerEpoch}) of batch ${BATCH} on the first ${limit} Fashion-MNIST training images at 32x32; ${n} samples per model; out ${outDir}`);

// ------------------------------------------------------------ the scorer
const backend = createBackend('auto');
await backend.activate();
say(`backend: ${backend.active?.description ?? tf.getBackend()}`);

let t = clock();
const dataContext = { baseDir: root, cacheDir, log: say };
const load = async (split: 'train' | 'test'): Promise<ImageDataset> => (await fashionMnist.create(fashionMnistOptions.parse({ split, imageSize: 32 }), dataContext)).load();
const trainSet = await load('train');
const testSet = await load('test');
timings.data_s = clock() - t;

t = clock();
const extractor: FeatureExtractor = await domainClassifierExtractor.create(domainClassifierOptions.parse({}), {
  dataset: trainSet,
  cacheDir: join(root, '.cache'),
  log: say,
});
timings.extractor_s = clock() - t;
say(`extractor: domain-classifier ${extractor.hash.slice(0, 12)}, held-out accuracy ${(Number(extractor.metadata['testAccuracy']) * 100).toFixed(1)}%${extractor.metadata['cached'] ? ' (cached)' : ''}`);

t = clock();
const realTest: ExtractedFeatures = await extractRealFeatures(testSet, extractor, { n: testSet.size, batchSize: 500 });
// Real against real at the same sample size: the FID a perfect generator would get here.
const heldOut = await extractRealFeatures(trainSet, extractor, { n, seed: 1, batchSize: 500 });
const realFloor = fid(realTest.features, heldOut.features);
timings.real_features_s = clock() - t;
say(`real features: ${realTest.features.n} test images; real-vs-real FID at n=${n}: ${realFloor.toFixed(3)}`);

interface Score {
  fid: number;
  kid: number;
  kidStd: number;
  diversity: number;
  seconds: number;
}

/**
 * FID and KID of a samples file against the test features: the one scoring
 * path for both trainers. Also writes `<path>.png`, a 4 x 10 grid of the first samples.
 */
async function score(samplesPath: string): Promise<Score> {
  const began = clock();
  const { images } = readSamples(samplesPath);
  try {
    const first = images.slice([0, 0, 0, 0], [Math.min(40, images.shape[0]), -1, -1, -1]);
    const grid = makeGrid(fromTensor(first), { cols: 10 });
    first.dispose();
    writeFileSync(`${samplesPath}.png`, await encodePng(grid.pixels, grid.width, grid.height, grid.channels));
    let at = 0;
    const sampler = (size: number): tf.Tensor4D => {
      const batch = images.slice([at, 0, 0, 0], [size, -1, -1, -1]);
      at += size;
      return batch;
    };
    const fake = await extractGeneratedFeatures(sampler, extractor, { n: images.shape[0], batchSize: 500 });
    const result = computeMetrics(realTest.features, fake, extractorIdentity(extractor), { metrics: ['fid', 'kid'], seed: 0 });
    return { fid: result.fid!, kid: result.kid!.mean, kidStd: result.kid!.std, diversity: result.diversity, seconds: clock() - began };
  } finally {
    images.dispose();
  }
}

// ------------------------------------------------------------ the trainers
function python(): string {
  const candidates = [process.env['DUEL_PYTHON'], join(root, '.venv/bin/python'), '/tmp/venv-tf/bin/python'];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? 'python3';
}

interface TrainedSamples {
  samples: string;
  trainSeconds: number;
  totalSeconds: number;
  last: Record<string, number>;
}

/** Trains the Keras reference in a child process; its epoch lines go to stderr. */
function trainKeras(seed: number): Promise<TrainedSamples> {
  const samples = join(outDir, `keras-seed${seed}`, 'generated');
  const argv = [join(root, 'reference/keras_quality.py'), '--out', samples, '--steps', String(steps), '--steps-per-epoch', String(stepsPerEpoch), '--seed', String(seed), '--limit', String(limit), '--n', String(n)];
  const began = clock();
  return new Promise((done, fail) => {
    const child = spawn(python(), argv, { cwd: root, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const lines = err.split('\n');
      err = lines.pop()!;
      for (const line of lines) if (line.startsWith('keras epoch') || line.startsWith('Traceback') || /Error/.test(line)) say(`  [seed ${seed}] ${line}`);
    });
    child.on('error', fail);
    child.on('close', (code) => {
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (code !== 0 || !line) {
        fail(new Error(`keras_quality.py (seed ${seed}) exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      const summary = JSON.parse(line) as { train_seconds: number; last_epoch: Record<string, number> };
      done({ samples, trainSeconds: summary.train_seconds, totalSeconds: clock() - began, last: summary.last_epoch });
    });
  });
}

/** Epoch lines with the seed in front; no progress bar (it would fight the other output). */
function seedProgress(seed: number, last: { metrics?: EpochMetrics }): ProgressSink {
  return {
    step: () => {},
    epoch: (metrics, total) => {
      last.metrics = metrics;
      say(`  [seed ${seed}] duel ${formatEpoch(metrics, total)}`);
    },
    line: (text) => {
      if (!text.startsWith('data:') && !text.startsWith('backend:')) say(`  [seed ${seed}] duel ${text}`);
    },
  };
}

/** Trains duel through the library API, then samples its saved generator in inference mode. */
async function trainDuel(seed: number): Promise<TrainedSamples> {
  const began = clock();
  const runDir = join(outDir, `duel-seed${seed}`);
  const last: { metrics?: EpochMetrics } = {};
  const result = await train({
    file: join(root, 'experiments/dcgan-fashion-mnist.yaml'),
    set: [
      `name=bench-quality-seed${seed}`,
      `seed=${seed}`,
      `data.options.limit=${limit}`,
      `trainer.epochs=${epochs}`,
      `trainer.stepsPerEpoch=${stepsPerEpoch}`,
      `trainer.batchSize=${BATCH}`,
      'tracking=[{type: local, options: {}}]',
    ],
    out: runDir,
    progress: seedProgress(seed, last),
    handleSignals: false,
  });
  if (result.status !== 'FINISHED' || result.outcome.position.step !== steps) {
    throw new Error(`duel (seed ${seed}) ended ${result.status} after ${result.outcome.position.step} of ${steps} steps${result.outcome.stopReason ? `: ${result.outcome.stopReason}` : ''}`);
  }
  const trainSeconds = result.outcome.history.reduce((sum, m) => sum + (m.seconds ?? 0), 0);
  const generator = await loadNetwork(join(runDir, 'generator'));
  const sample = generatorSampler(generator, LATENT, seed + 1_000_003);
  const parts: tf.Tensor4D[] = [];
  for (let at = 0; at < n; at += 250) parts.push(sample(Math.min(250, n - at)));
  const all = tf.concat(parts, 0);
  const values = (await all.data()) as Float32Array;
  const shape = all.shape as [number, number, number, number];
  tf.dispose([...parts, all]);
  generator.dispose();
  const samples = join(runDir, 'generated');
  writeSamples(samples, values, shape, { steps, seed, limit, epochs, source: 'duel', runDir });
  const m = last.metrics;
  return {
    samples,
    trainSeconds: trainSeconds || clock() - began,
    totalSeconds: clock() - began,
    last: m ? { d_loss: m.d_loss, g_loss: m.g_loss, d_real_acc: m.d_real_acc, d_fake_acc: m.d_fake_acc } : {},
  };
}

// ------------------------------------------------------------ the runs
interface SeedResult {
  seed: number;
  system: 'duel' | 'keras';
  train: TrainedSamples;
  score: Score;
}
const results: SeedResult[] = [];
for (const seed of seeds) {
  say(`seed ${seed}: keras`);
  const k = await trainKeras(seed);
  const ks = await score(k.samples);
  say(`seed ${seed}: keras trained in ${k.trainSeconds.toFixed(0)} s (${k.totalSeconds.toFixed(0)} s with start-up), scored in ${ks.seconds.toFixed(0)} s: FID ${ks.fid.toFixed(3)}  KID ${ks.kid.toFixed(5)}`);
  results.push({ seed, system: 'keras', train: k, score: ks });
  say(`seed ${seed}: duel`);
  const d = await trainDuel(seed);
  const ds = await score(d.samples);
  say(`seed ${seed}: duel trained in ${d.trainSeconds.toFixed(0)} s (${d.totalSeconds.toFixed(0)} s with set-up and sampling), scored in ${ds.seconds.toFixed(0)} s: FID ${ds.fid.toFixed(3)}  KID ${ds.kid.toFixed(5)}`);
  results.push({ seed, system: 'duel', train: d, score: ds });
}

// ------------------------------------------------------------ the report
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation over seeds (NaN for one seed: no spread can be measured). */
const spread = (xs: number[]) => (xs.length < 2 ? NaN : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const of = (system: 'duel' | 'keras') => results.filter((r) => r.system === system);
const pm = (xs: number[], digits: number) => `${mean(xs).toFixed(digits)}${xs.length > 1 ? ` ± ${spread(xs).toFixed(digits)}` : ''}`;

const rows: string[][] = [['system', 'seed', 'FID', 'KID', 'KID std', 'diversity', 'train s', 'img/s', 'last d_loss', 'last g_loss', 'last d_fake_acc']];
for (const r of results) {
  rows.push([r.system, String(r.seed), r.score.fid.toFixed(3), r.score.kid.toFixed(5), r.score.kidStd.toFixed(5), r.score.diversity.toFixed(3), r.train.trainSeconds.toFixed(0),
    ((steps * BATCH) / r.train.trainSeconds).toFixed(1), (r.train.last['d_loss'] ?? NaN).toFixed(3), (r.train.last['g_loss'] ?? NaN).toFixed(3), (r.train.last['d_fake_acc'] ?? NaN).toFixed(3)]);
}
for (const system of ['duel', 'keras'] as const) {
  const rs = of(system);
  rows.push([system, 'mean±sd', pm(rs.map((r) => r.score.fid), 3), pm(rs.map((r) => r.score.kid), 5), '', '', mean(rs.map((r) => r.train.trainSeconds)).toFixed(0), '', '', '', '']);
}
rows.push(['real vs real', '-', realFloor.toFixed(3), '', '', '', '', '', '', '', '']);
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());

const duelFids = of('duel').map((r) => r.score.fid);
const kerasFids = of('keras').map((r) => r.score.fid);
// Noise of the difference of two means over seeds; with one seed it cannot be measured.
const noise = Math.sqrt(spread(duelFids) ** 2 / duelFids.length + spread(kerasFids) ** 2 / kerasFids.length);
const gap = mean(duelFids) - mean(kerasFids);
const verdict = !Number.isFinite(noise)
  ? 'one seed: no run-to-run noise measured, no verdict'
  : gap <= 2 * noise
    ? `duel no worse than Keras within noise (gap ${gap.toFixed(2)} <= 2 x ${noise.toFixed(2)})`
    : `duel WORSE than Keras beyond noise (gap ${gap.toFixed(2)} > 2 x ${noise.toFixed(2)})`;
timings.total_s = clock() - started;
console.log(`FID/KID: domain-classifier features (${extractor.hash.slice(0, 12)}, held-out accuracy ${(Number(extractor.metadata['testAccuracy']) * 100).toFixed(1)}%), ${n} samples vs ${realTest.features.n} test images; ± is the sd over seeds`);
console.log(`verdict: ${verdict}`);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
console.log(`time: data ${timings.data_s!.toFixed(0)} s, extractor ${timings.extractor_s!.toFixed(0)} s, real features ${timings.real_features_s!.toFixed(0)} s, ` +
  `keras ${sum(of('keras').map((r) => r.train.totalSeconds)).toFixed(0)} s, duel ${sum(of('duel').map((r) => r.train.totalSeconds)).toFixed(0)} s, ` +
  `scoring ${sum(results.map((r) => r.score.seconds)).toFixed(0)} s, total ${timings.total_s.toFixed(0)} s`);

const round = (x: number, digits: number) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
const kids = (system: 'duel' | 'keras') => of(system).map((r) => round(r.score.kid, 6));
console.log(JSON.stringify({
  fid: round(mean(duelFids), 3),
  keras_fid: round(mean(kerasFids), 3),
  kid: round(mean(of('duel').map((r) => r.score.kid)), 6),
  keras_kid: round(mean(of('keras').map((r) => r.score.kid)), 6),
  steps,
  seeds,
  fid_per_seed: duelFids.map((x) => round(x, 3)),
  keras_fid_per_seed: kerasFids.map((x) => round(x, 3)),
  kid_per_seed: kids('duel'),
  keras_kid_per_seed: kids('keras'),
  fid_sd: round(spread(duelFids), 3),
  keras_fid_sd: round(spread(kerasFids), 3),
  real_fid_floor: round(realFloor, 3),
  samples: n,
  limit,
  extractor: { id: extractor.id, hash: extractor.hash.slice(0, 16), test_accuracy: round(Number(extractor.metadata['testAccuracy']), 4) },
  duel_train_s: of('duel').map((r) => round(r.train.trainSeconds, 1)),
  keras_train_s: of('keras').map((r) => round(r.train.trainSeconds, 1)),
  score_s: results.map((r) => round(r.score.seconds, 1)),
  total_s: round(timings.total_s, 1),
}));
extractor.dispose?.();
