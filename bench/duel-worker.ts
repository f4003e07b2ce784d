/**
 * One throughput measurement of duel's training step, in its own process
 * (a process loads one TensorFlow runtime, with its thread settings, once).
 *
 * It runs @duel/core's AdversarialTrainer — the real step: the book's
 * networks from @duel/models (or a prototype variant, `--net variant:...`),
 * bce-label-noise from @duel/losses, Adam from @duel/optim, the simultaneous
 * update of core's steps.ts, the per-step statistics — on random in-memory
 * images, for `warmup + steps + 1` steps of one epoch with logEvery 1, and
 * times the `steps` steps between two progress reports (same state at both
 * ends, so the tensor count difference is what the steps leaked).
 *
 * Prints one JSON line. Usage (normally spawned by throughput.ts):
 *   tsx bench/duel-worker.ts --backend tensorflow --batch 128 --steps 8 --warmup 2 [--net duel|variant:bn+dropout+conv] [--profile]
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AdversarialTrainer, SeededStepRandom, Streams, trainerSchema } from '@duel/core';
import type { EpochMetrics, ImageDataset, ProgressSink } from '@duel/core';
import { createBackend, currentAllocator, registerTensorflowKernels } from '@duel/engine';
import { bceLabelNoise } from '@duel/losses';
import { dcganDiscriminator, dcganGenerator } from '@duel/models';
import { adam } from '@duel/optim';
import { variantDiscriminator, variantGenerator } from './variant-layers';
import type { Variant } from './variant-layers';
import { summariseProfile } from './profile';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'tensorflow' },
    batch: { type: 'string', default: '128' },
    steps: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    net: { type: 'string', default: 'duel' },
    profile: { type: 'boolean', default: false },
    'intra-op': { type: 'string', default: '0' },
    'inter-op': { type: 'string', default: '0' },
    /** A tfjs-node package directory to load instead of the installed one (comparing TensorFlow builds). */
    'tfjs-node': { type: 'string' },
  },
});
const batch = Number(args.batch);
const steps = Number(args.steps);
const warmup = Number(args.warmup);
const SIZE = 64;
const CHANNELS = 1;
const SEED = 42;

let active: { name: string; description: string } | undefined;
if (args['tfjs-node']) {
  // Another build of the addon (e.g. against TensorFlow 2.9): loading it registers 'tensorflow' in this same tfjs.
  const loaded = createRequire(import.meta.url)(args['tfjs-node']) as { backend(): { binding: { TF_Version: string } } };
  await tf.setBackend('tensorflow');
  registerTensorflowKernels();
  active = { name: 'tensorflow', description: `tensorflow (${args['tfjs-node']}, TensorFlow ${loaded.backend().binding.TF_Version})` };
} else {
  const backend = createBackend(args.backend!, args.backend === 'tensorflow' ? { intraOpThreads: Number(args['intra-op']), interOpThreads: Number(args['inter-op']) } : {});
  await backend.activate();
  active = backend.active;
}

const imageShape = { height: SIZE, width: SIZE, channels: CHANNELS } as const;
const networkRandom = new SeededStepRandom(SEED, Streams.dropout);
let generator: tf.LayersModel;
let discriminator: tf.LayersModel;
if (args.net === 'duel') {
  const context = { imageShape, seed: SEED, random: networkRandom };
  generator = (await dcganGenerator.create(dcganGenerator.options.parse({}), context)).model;
  discriminator = (await dcganDiscriminator.create(dcganDiscriminator.options.parse({}), context)).model;
} else if (args.net!.startsWith('variant:')) {
  const flags = new Set(args.net!.slice('variant:'.length).split(/[+,]/).filter(Boolean));
  const variant: Variant = { fusedBatchNorm: flags.has('bn'), fastDropout: flags.has('dropout'), plainConv: flags.has('conv') };
  generator = variantGenerator(variant, CHANNELS, SEED);
  discriminator = variantDiscriminator(variant, CHANNELS, SEED + 100, networkRandom);
} else {
  throw new Error(`--net: expected duel or variant:bn+dropout+conv, got ${args.net}`);
}

// Random pixels: a step's cost does not depend on them. One epoch holds every step.
const stepsInEpoch = warmup + steps + 1;
const pixels = new Uint8Array(stepsInEpoch * batch * SIZE * SIZE * CHANNELS);
for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
const dataset: ImageDataset = { source: 'bench (random pixels)', shape: imageShape, size: stepsInEpoch * batch, pixels, skipped: [] };

const marks = new Map<number, { at: number; tensors: number; cpu: NodeJS.CpuUsage }>();
const progress: ProgressSink = {
  step(_epoch, _total, stepInEpoch) {
    marks.set(stepInEpoch, { at: performance.now(), tensors: tf.memory().numTensors, cpu: process.cpuUsage() });
  },
  epoch() {},
  line() {},
};
const runDir = mkdtempSync(join(tmpdir(), 'duel-bench-'));
const optimizerOptions = adam.options.parse({ learningRate: 2e-4, beta1: 0.5, beta2: 0.999 });
const loss = await bceLabelNoise.create(bceLabelNoise.options.parse({}), undefined);
const trainer = new AdversarialTrainer({
  generator,
  discriminator,
  discriminatorOutput: 'probability',
  latentDim: 100,
  loss,
  generatorOptimizer: await adam.create(optimizerOptions, undefined),
  discriminatorOptimizer: await adam.create(optimizerOptions, undefined),
  dataset,
  callbacks: [],
  trackers: [],
  settings: trainerSchema.parse({ epochs: 1, batchSize: batch, stepsPerEpoch: stepsInEpoch, logEvery: 1 }),
  seed: SEED,
  networkRandom,
  runDir,
  progress,
});

let history: EpochMetrics[] = [];
// With no warm-up step, timing starts here (the first step then includes one-off costs).
marks.set(0, { at: performance.now(), tensors: tf.memory().numTensors, cpu: process.cpuUsage() });
let profile: ReturnType<typeof summariseProfile> | undefined;
try {
  if (args.profile) {
    // Every kernel of the whole run, per step (warm-up included): timing under tf.profile is a little slower.
    const info = await tf.profile(async () => {
      history = (await trainer.train()).history;
    });
    profile = summariseProfile(info, stepsInEpoch);
  } else {
    history = (await trainer.train()).history;
  }
} finally {
  trainer.dispose();
  rmSync(runDir, { recursive: true, force: true });
}

const first = marks.get(warmup);
const last = marks.get(warmup + steps);
if (!first || !last) throw new Error(`missing progress marks (${[...marks.keys()].join(',')})`);
const seconds = (last.at - first.at) / 1000;
const cpuSeconds = (last.cpu.user + last.cpu.system - first.cpu.user - first.cpu.system) / 1e6;
console.log(JSON.stringify({
  system: `duel/${active?.name}`,
  backend: active?.name,
  description: active?.description,
  net: args.net,
  allocator: currentAllocator(),
  images_per_s: (steps * batch) / seconds,
  seconds,
  cpu_seconds: cpuSeconds,
  system_seconds: (last.cpu.system - first.cpu.system) / 1e6,
  steps,
  batch,
  size: SIZE,
  tensors_leaked_per_step: (last.tensors - first.tensors) / steps,
  d_loss: history[0]?.d_loss,
  ...(profile ? { profile } : {}),
}));
