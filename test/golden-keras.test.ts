/**
 * Fidelity against Keras: the book's DCGAN step, computed by duel's networks,
 * loss, optimizer and core's step functions on the real TensorFlow runtime,
 * must reproduce the numbers reference/keras_golden.py got from Keras 3 (same
 * initial weights, real batch, z and label-noise draws).
 *
 * - reference/golden/dcgan-32.*: committed (32 px, 8 base filters, batch 8).
 * - the book's own size (64 px, 64 base filters, batch 4) is regenerated here
 *   when the reference Python (DUEL_PYTHON or .venv/bin/python) is present.
 *
 * Tolerance: |duel - keras| <= 1e-4 * max(1, |keras|), i.e. absolute 1e-4 for
 * values up to 1 in magnitude and relative 1e-4 above. The measured maximum
 * absolute errors are printed per quantity.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discriminatorGradients, generatorGradients, simultaneousGradients, trainableVariables } from '../packages/core/src/index';
import type { GanLoss, Network, Optimizer } from '../packages/core/src/index';
import { bceLabelNoise, binaryCrossentropy, wganGp } from '../packages/losses/src/index';
import { buildDiscriminator, buildGenerator, discriminatorOptionsSchema, generatorOptionsSchema } from '../packages/models/src/index';
import { adam, rmsprop, sgd } from '../packages/optim/src/index';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOLERANCE = 1e-4;

// tfjs-node registers the `tensorflow` backend into this same tfjs instance.
createRequire(join(ROOT, 'packages/engine/package.json'))('@tensorflow/tfjs-node');

interface TensorIndex {
  shape: number[];
  offset: number;
}
interface DcganConfig {
  size: number;
  channels: 1 | 3;
  baseFilters: number;
  latentDim: number;
  batch: number;
  noise: number;
  adam: Record<string, number>;
  weights: { generator: string[]; discriminator: string[] };
  steps: Record<'sim' | 'alt', { d_grads: string[]; g_grads: string[]; d_after: string[]; g_after: string[] }> & {
    wgan_gp: {
      penaltyWeight: number;
      cases: Record<string, { batchNorm: boolean; init: string[]; d_grads: string[]; after: string[]; d_grads_full_moments?: string[] }>;
    };
  };
}
interface GoldenConfig {
  tensorflow: string;
  keras: string;
  dcgan: DcganConfig;
  optimizers?: { steps: number; variables: number; cases: { name: string; plugin: string; options: Record<string, unknown> }[] };
}

class Golden {
  readonly config: GoldenConfig;
  private readonly index: Record<string, TensorIndex>;
  private readonly data: Float32Array;
  constructor(base: string) {
    const manifest = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { config: GoldenConfig; tensors: Record<string, TensorIndex> };
    this.config = manifest.config;
    this.index = manifest.tensors;
    const bytes = readFileSync(`${base}.bin`);
    this.data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  array(name: string): { shape: number[]; values: Float32Array } {
    const entry = this.index[name];
    if (!entry) throw new Error(`golden vectors have no '${name}'`);
    const size = entry.shape.reduce((a, b) => a * b, 1);
    return { shape: entry.shape, values: this.data.subarray(entry.offset, entry.offset + size) };
  }
  tensor(name: string): tf.Tensor {
    const { shape, values } = this.array(name);
    return tf.tensor(values, shape, 'float32');
  }
}

/** Worst error of one quantity, and whether every element is within tolerance. */
interface Mismatch {
  maxAbs: number;
  worst: string;
  failures: string[];
}
class Errors {
  private readonly byQuantity = new Map<string, Mismatch>();
  compare(quantity: string, name: string, actual: tf.Tensor, expected: { shape: number[]; values: Float32Array }): void {
    const entry = this.byQuantity.get(quantity) ?? { maxAbs: 0, worst: '', failures: [] };
    this.byQuantity.set(quantity, entry);
    const a = actual.dataSync();
    if (a.length !== expected.values.length || actual.shape.join(',') !== expected.shape.join(',')) {
      entry.failures.push(`${name}: shape [${actual.shape}] vs keras [${expected.shape}]`);
      return;
    }
    let bad = 0;
    for (let i = 0; i < a.length; i++) {
      const want = expected.values[i]!;
      const diff = Math.abs(a[i]! - want);
      if (!(diff <= TOLERANCE * Math.max(1, Math.abs(want)))) bad++;
      if (diff > entry.maxAbs || Number.isNaN(diff)) {
        entry.maxAbs = Number.isNaN(diff) ? Infinity : diff;
        entry.worst = `${name}[${i}] duel ${a[i]} keras ${want}`;
      }
    }
    if (bad > 0) entry.failures.push(`${name}: ${bad} of ${a.length} elements off`);
  }
  report(title: string): string {
    const lines = [...this.byQuantity].map(([q, m]) => `  ${q.padEnd(34)} max abs err ${m.maxAbs.toExponential(2)}  (${m.worst})`);
    return `${title}\n${lines.join('\n')}`;
  }
  failures(): string[] {
    return [...this.byQuantity].flatMap(([q, m]) => m.failures.map((f) => `${q}: ${f}`));
  }
}

/** Weights of a tfjs network by Keras name (`layer/weight`), in layer order. */
function namedWeights(model: Network): { name: string; variable: tf.LayerVariable }[] {
  return model.layers.flatMap((layer) => layer.weights.map((w) => ({ name: `${layer.name}/${w.originalName.split('/').pop()}`, variable: w })));
}

function loadWeights(model: Network, golden: Golden, names: string[], prefix: string): void {
  const ours = namedWeights(model);
  const theirs = names.map((n) => n.slice(prefix.length + 1));
  expect(ours.map((w) => w.name)).toEqual(theirs);
  for (const w of ours) {
    const value = golden.tensor(`${prefix}/${w.name}`);
    // Same kernel layouts on both sides: Conv2D [h, w, in, out], Conv2DTranspose [h, w, out, in].
    expect(w.variable.shape).toEqual(value.shape);
    w.variable.write(value);
    value.dispose();
  }
}

function compareWeights(errors: Errors, quantity: (name: string) => string, model: Network, golden: Golden, names: string[], prefix: string): void {
  const byName = new Map(namedWeights(model).map((w) => [w.name, w.variable]));
  for (const full of names) {
    const name = full.slice(prefix.length + 1);
    errors.compare(quantity(name), full, byName.get(name)!.read(), golden.array(full));
  }
}

function compareGrads(errors: Errors, quantity: string, model: Network, grads: tf.Tensor[], golden: Golden, names: string[], prefix: string): void {
  const trainable = model.trainableWeights.map((w) => w.originalName);
  // core orders gradients as model.trainableWeights; Keras' list is layer by layer.
  expect(trainable.map((n) => n.split('/').slice(-2).join('/'))).toEqual(names.map((n) => n.slice(prefix.length + 1)));
  grads.forEach((g, i) => errors.compare(quantity, names[i]!, g, golden.array(names[i]!)));
}

/** Hands the loss the reference's draws, in the order it asks for them. */
function injectedUniform(golden: Golden, names: string[]): (shape: number[]) => tf.Tensor {
  const queue = [...names];
  return (shape) => {
    const name = queue.shift();
    if (!name) throw new Error('the loss drew more uniform tensors than the reference did');
    const value = golden.tensor(name);
    expect(value.shape).toEqual(shape);
    return value;
  };
}

interface Nets {
  generator: Network;
  discriminator: Network;
  loss: GanLoss;
}

function buildNets(config: DcganConfig): Nets {
  const imageShape = { height: config.size, width: config.size, channels: config.channels };
  const generator = buildGenerator(generatorOptionsSchema.parse({ latentDim: config.latentDim, baseFilters: config.baseFilters }), imageShape);
  // Dropout 0: masks cannot match across frameworks (the reference uses rate 0 too).
  const discriminator = buildDiscriminator(discriminatorOptionsSchema.parse({ baseFilters: config.baseFilters, dropout: 0 }), imageShape, {
    nextSeed: () => {
      throw new Error('no dropout seed should be drawn at rate 0');
    },
  });
  const loss = bceLabelNoise.create(bceLabelNoise.options.parse({ noise: config.noise }), undefined) as GanLoss;
  return { generator, discriminator, loss };
}

function bookAdam(config: DcganConfig): Optimizer {
  return adam.create(adam.options.parse(config.adam), undefined) as Optimizer;
}

function resetWeights(nets: Nets, golden: Golden): void {
  loadWeights(nets.generator, golden, golden.config.dcgan.weights.generator, 'init/generator');
  loadWeights(nets.discriminator, golden, golden.config.dcgan.weights.discriminator, 'init/discriminator');
}

/** Runs both update modes through core's step functions and compares everything with Keras. */
function checkDcgan(golden: Golden, title: string): Errors {
  const config = golden.config.dcgan;
  const errors = new Errors();
  const nets = buildNets(config);
  const real = golden.tensor('real') as tf.Tensor4D;
  const before = tf.memory().numTensors;

  // Simultaneous: the notebook's train_step.
  resetWeights(nets, golden);
  {
    const dOpt = bookAdam(config);
    const gOpt = bookAdam(config);
    const z = golden.tensor('sim/z') as tf.Tensor2D;
    const step = simultaneousGradients(nets, real, { z, uniform: injectedUniform(golden, ['sim/u_real', 'sim/u_fake']) });
    errors.compare('losses (d_loss, g_loss)', 'sim/d_loss', step.dLoss, golden.array('sim/d_loss'));
    errors.compare('losses (d_loss, g_loss)', 'sim/g_loss', step.gLoss, golden.array('sim/g_loss'));
    errors.compare('D outputs (p_real, p_fake)', 'sim/p_real', step.pReal, golden.array('sim/p_real'));
    errors.compare('D outputs (p_real, p_fake)', 'sim/p_fake', step.pFake, golden.array('sim/p_fake'));
    compareGrads(errors, 'simultaneous D gradients', nets.discriminator, step.dGrads, golden, config.steps.sim.d_grads, 'sim/d_grad');
    compareGrads(errors, 'simultaneous G gradients', nets.generator, step.gGrads, golden, config.steps.sim.g_grads, 'sim/g_grad');
    dOpt.applyGradients(trainableVariables(nets.discriminator), step.dGrads);
    gOpt.applyGradients(trainableVariables(nets.generator), step.gGrads);
    const kind = (net: string) => (name: string) => `simultaneous ${net} ${/moving_/.test(name) ? 'BN moving stats' : 'weights'} after Adam`;
    compareWeights(errors, kind('D'), nets.discriminator, golden, config.steps.sim.d_after, 'sim/d_after');
    compareWeights(errors, kind('G'), nets.generator, golden, config.steps.sim.g_after, 'sim/g_after');
    tf.dispose([z, step.dLoss, step.gLoss, step.pReal, step.pFake, ...step.dGrads, ...step.gGrads]);
    dOpt.dispose();
    gOpt.dispose();
  }

  // Alternating: D step from one forward pass, then a new z through the updated D.
  resetWeights(nets, golden);
  {
    const dOpt = bookAdam(config);
    const gOpt = bookAdam(config);
    const zD = golden.tensor('alt/z_d') as tf.Tensor2D;
    const zG = golden.tensor('alt/z_g') as tf.Tensor2D;
    // The fake batch of the D step comes from G in training mode, as in the reference.
    const fake = tf.tidy(() => nets.generator.apply(zD, { training: true }) as tf.Tensor4D);
    const dStep = discriminatorGradients(nets, real, fake, { uniform: injectedUniform(golden, ['alt/u_real', 'alt/u_fake']) });
    errors.compare('losses (d_loss, g_loss)', 'alt/d_loss', dStep.dLoss, golden.array('alt/d_loss'));
    errors.compare('D outputs (p_real, p_fake)', 'alt/p_real', dStep.pReal, golden.array('alt/p_real'));
    errors.compare('D outputs (p_real, p_fake)', 'alt/p_fake_d', dStep.pFake, golden.array('alt/p_fake_d'));
    compareGrads(errors, 'alternating D gradients', nets.discriminator, dStep.dGrads, golden, config.steps.alt.d_grads, 'alt/d_grad');
    dOpt.applyGradients(trainableVariables(nets.discriminator), dStep.dGrads);
    const gStep = generatorGradients(nets, zG);
    errors.compare('losses (d_loss, g_loss)', 'alt/g_loss', gStep.gLoss, golden.array('alt/g_loss'));
    errors.compare('D outputs (p_real, p_fake)', 'alt/p_fake_g', gStep.pFake, golden.array('alt/p_fake_g'));
    compareGrads(errors, 'alternating G gradients', nets.generator, gStep.gGrads, golden, config.steps.alt.g_grads, 'alt/g_grad');
    gOpt.applyGradients(trainableVariables(nets.generator), gStep.gGrads);
    const kind = (net: string) => (name: string) => `alternating ${net} ${/moving_/.test(name) ? 'BN moving stats' : 'weights'} after Adam`;
    compareWeights(errors, kind('D'), nets.discriminator, golden, config.steps.alt.d_after, 'alt/d_after');
    compareWeights(errors, kind('G'), nets.generator, golden, config.steps.alt.g_after, 'alt/g_after');
    tf.dispose([zD, zG, fake, dStep.dLoss, dStep.pReal, dStep.pFake, ...dStep.dGrads, gStep.gLoss, gStep.pFake, ...gStep.gGrads]);
    dOpt.dispose();
    gOpt.dispose();
  }

  expect(tf.memory().numTensors).toBe(before);
  real.dispose();
  nets.generator.dispose();
  nets.discriminator.dispose();
  console.log(errors.report(`${title} (TF ${golden.config.tensorflow}, Keras ${golden.config.keras}):`));
  return errors;
}

function referencePython(): string | undefined {
  const candidates = [process.env['DUEL_PYTHON'], join(ROOT, '.venv/bin/python')].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p));
}

const COMMITTED = join(ROOT, 'reference/golden/dcgan-32');

beforeAll(async () => {
  await tf.setBackend('tensorflow');
  expect(tf.getBackend()).toBe('tensorflow');
});

describe('the book DCGAN against Keras (committed vectors, 32 px)', () => {
  it('matches d_loss, g_loss, every gradient and the Adam-updated weights in both update modes', () => {
    const errors = checkDcgan(new Golden(COMMITTED), 'dcgan-32');
    expect(errors.failures()).toEqual([]);
  });

  it('matches a WGAN-GP critic step (second-order gradients through the penalty), with and without BatchNorm', () => {
    const golden = new Golden(COMMITTED);
    const config = golden.config.dcgan;
    const spec = config.steps.wgan_gp;
    const errors = new Errors();
    const imageShape = { height: config.size, width: config.size, channels: config.channels };
    const real = golden.tensor('real') as tf.Tensor4D;
    const fake = golden.tensor('sim/fake') as tf.Tensor4D;
    const generator = buildGenerator(generatorOptionsSchema.parse({ latentDim: config.latentDim, baseFilters: config.baseFilters }), imageShape);
    const loss = wganGp.create(wganGp.options.parse({ penaltyWeight: spec.penaltyWeight }), undefined) as GanLoss;
    const before = tf.memory().numTensors;
    for (const [name, c] of Object.entries(spec.cases)) {
      const options = discriminatorOptionsSchema.parse({ baseFilters: config.baseFilters, dropout: 0, output: 'logit', batchNorm: c.batchNorm });
      const critic = buildDiscriminator(options, imageShape, undefined);
      loadWeights(critic, golden, c.init, `gp/${name}/init`);
      const step = discriminatorGradients({ generator, discriminator: critic, loss }, real, fake, { uniform: injectedUniform(golden, ['gp/e']) });
      errors.compare(`wgan-gp ${name}: d_loss`, `gp/${name}/d_loss`, step.dLoss, golden.array(`gp/${name}/d_loss`));
      if (c.d_grads_full_moments) {
        // Through BatchNorm, TF's second-order gradient drops a term (tf.nn.moments centres the
        // variance on stop_gradient(mean)); tfjs differentiates its moments fully. The reference
        // redoes the step with full moments: duel must match that, and differs from stock TF by
        // that term only (reported, not asserted).
        compareGrads(errors, `wgan-gp ${name}: critic gradients (TF, full moments)`, critic, step.dGrads, golden, c.d_grads_full_moments, `gp/${name}/d_grad_full_moments`);
        const stock = new Errors();
        compareGrads(stock, 'stock', critic, step.dGrads, golden, c.d_grads, `gp/${name}/d_grad`);
        console.log(stock.report(`wgan-gp ${name}: duel vs stock TF (stop_gradient in moments), for information`));
      } else {
        compareGrads(errors, `wgan-gp ${name}: critic gradients`, critic, step.dGrads, golden, c.d_grads, `gp/${name}/d_grad`);
      }
      // Three critic calls in training mode (real, fake, x_hat): BatchNorm moving statistics updated thrice in both.
      compareWeights(errors, () => `wgan-gp ${name}: weights and BN stats after`, critic, golden, c.after, `gp/${name}/after`);
      tf.dispose([step.dLoss, step.pReal, step.pFake, ...step.dGrads]);
      critic.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([real, fake]);
    generator.dispose();
    console.log(errors.report('WGAN-GP critic step against TensorFlow'));
    expect(errors.failures()).toEqual([]);
  });

  it("computes Keras' binary cross-entropy exactly, clipping included", () => {
    const golden = new Golden(COMMITTED);
    const [p, y] = [golden.tensor('bce/p'), golden.tensor('bce/y')];
    const loss = binaryCrossentropy(y, p);
    expect(Math.abs(loss.dataSync()[0]! - golden.array('bce/loss').values[0]!)).toBeLessThan(1e-5);
    tf.dispose([p, y, loss]);
  });

  it("steps Adam, RMSprop and SGD as Keras does (clipping options included)", () => {
    const golden = new Golden(COMMITTED);
    const spec = golden.config.optimizers!;
    const plugins = { adam, rmsprop, sgd } as const;
    const errors = new Errors();
    for (const c of spec.cases) {
      const plugin = plugins[c.plugin as keyof typeof plugins];
      const optimizer = plugin.create(plugin.options.parse(c.options) as never, undefined) as Optimizer;
      const variables = Array.from({ length: spec.variables }, (_, i) => tf.variable(golden.tensor(`opt/initial/${i}`)));
      for (let t = 0; t < spec.steps; t++) {
        const grads = variables.map((_, i) => golden.tensor(`opt/grad/${t}/${i}`));
        optimizer.applyGradients(variables, grads);
        tf.dispose(grads);
        variables.forEach((v, i) => errors.compare(c.name, `opt/${c.name}/${t}/${i}`, v, golden.array(`opt/${c.name}/${t}/${i}`)));
      }
      expect(optimizer.iterations).toBe(spec.steps);
      optimizer.dispose();
      tf.dispose(variables);
    }
    console.log(errors.report('optimizers against Keras'));
    expect(errors.failures()).toEqual([]);
  });
});

const python = referencePython();
// The real LEGO batch the Keras script draws, from shared/ beside the checkout.
const LEGO = join(ROOT, '..', 'shared', 'datasets', 'lego-bricks-128');
describe.skipIf(!python || !existsSync(LEGO))("the book DCGAN against Keras at the book's size (64 px, 64 filters, regenerated)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'duel-golden-'));
    execFileSync(python!, [join(ROOT, 'reference/keras_golden.py'), '--out', join(dir, 'dcgan-64'), '--size', '64', '--base-filters', '64', '--batch', '4', '--no-optimizers', '--dataset', LEGO], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 170_000,
    });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('matches d_loss, g_loss, every gradient and the Adam-updated weights in both update modes', () => {
    const errors = checkDcgan(new Golden(join(dir, 'dcgan-64')), 'dcgan-64 (the book)');
    expect(errors.failures()).toEqual([]);
  });
});
