import * as tf from '@tensorflow/tfjs';
import type { GanLoss, Network } from './contracts';
import { gradientsFromOneForward } from './tape';

/** The parts a training step differentiates through. */
export interface StepNetworks {
  readonly generator: Network;
  readonly discriminator: Network;
  readonly loss: GanLoss;
  /**
   * The augmentations of the step (DiffAugment, instance noise), applied to
   * every batch before D sees it, real and fake alike. Omitted: D sees the images as they are.
   */
  readonly augment?: (images: tf.Tensor4D) => tf.Tensor4D;
}

/** The random inputs of a step, injectable so a test can replay another framework's draws. */
export interface StepDraws {
  /** Latent batch, (batch, latentDim). */
  readonly z: tf.Tensor2D;
  /** U(0, 1) draws of a shape, for the loss (label noise). */
  readonly uniform: (shape: number[]) => tf.Tensor;
}

/** The trainable variables of a network, in `trainableWeights` order. */
export function trainableVariables(network: Network): tf.Variable[] {
  return network.trainableWeights.map((weight) => weight.read() as tf.Variable);
}

function run(network: Network, input: tf.Tensor): tf.Tensor {
  return network.apply(input, { training: true }) as tf.Tensor;
}

/** A batch as the discriminator is shown it. */
function shown(nets: StepNetworks, images: tf.Tensor4D): tf.Tensor4D {
  return nets.augment ? nets.augment(images) : images;
}

/**
 * D's half of a step, inside a tape: the real and the fake batch as D is
 * shown them, D's scores of each, and d_loss (whose penalties see the shown batches).
 */
function discriminatorHalf(nets: StepNetworks, real: tf.Tensor4D, fake: tf.Tensor4D, uniform: StepDraws['uniform']): { dLoss: tf.Scalar; pReal: tf.Tensor; pFake: tf.Tensor } {
  const realShown = shown(nets, real);
  const fakeShown = shown(nets, fake);
  const pReal = run(nets.discriminator, realShown);
  const pFake = run(nets.discriminator, fakeShown);
  const discriminate = (images: tf.Tensor4D) => run(nets.discriminator, images);
  const dLoss = nets.loss.discriminatorLoss({ real: pReal, fake: pFake, realImages: realShown, fakeImages: fakeShown, discriminate, uniform });
  return { dLoss, pReal, pFake };
}

export interface SimultaneousResult {
  dLoss: tf.Scalar;
  gLoss: tf.Scalar;
  /** Gradients of d_loss over D's trainable variables. */
  dGrads: tf.Tensor[];
  /** Gradients of g_loss over G's trainable variables. */
  gGrads: tf.Tensor[];
  pReal: tf.Tensor;
  pFake: tf.Tensor;
}

/**
 * The book's step (REFERENCE.md, "One training step"): G(z), D(x) and D(G(z))
 * once, in training mode; d_loss's gradient over D and g_loss's over G, both
 * from that one forward pass. Applying them is the caller's business.
 */
export function simultaneousGradients(nets: StepNetworks, real: tf.Tensor4D, draws: StepDraws): SimultaneousResult {
  const dVars = trainableVariables(nets.discriminator);
  const gVars = trainableVariables(nets.generator);
  const { outputs, grads } = gradientsFromOneForward(
    () => {
      const d = discriminatorHalf(nets, real, run(nets.generator, draws.z) as tf.Tensor4D, draws.uniform);
      return { ...d, gLoss: nets.loss.generatorLoss(d.pFake) };
    },
    (out) => [
      { loss: out.dLoss, variables: dVars },
      { loss: out.gLoss, variables: gVars },
    ],
  );
  return { dLoss: outputs.dLoss, gLoss: outputs.gLoss, pReal: outputs.pReal, pFake: outputs.pFake, dGrads: grads[0]!, gGrads: grads[1]! };
}

export interface DiscriminatorResult {
  dLoss: tf.Scalar;
  dGrads: tf.Tensor[];
  pReal: tf.Tensor;
  pFake: tf.Tensor;
}

/** The discriminator half of an alternating step: d_loss and its gradient over D, given a fake batch. */
export function discriminatorGradients(nets: StepNetworks, real: tf.Tensor4D, fake: tf.Tensor4D, draws: Pick<StepDraws, 'uniform'>): DiscriminatorResult {
  const dVars = trainableVariables(nets.discriminator);
  const { outputs, grads } = gradientsFromOneForward(
    () => discriminatorHalf(nets, real, fake, draws.uniform),
    (out) => [{ loss: out.dLoss, variables: dVars }],
  );
  return { ...outputs, dGrads: grads[0]! };
}

export interface GeneratorResult {
  gLoss: tf.Scalar;
  gGrads: tf.Tensor[];
  pFake: tf.Tensor;
}

/** The generator half of an alternating step: g_loss through the (updated) D and its gradient over G. */
export function generatorGradients(nets: StepNetworks, z: tf.Tensor2D): GeneratorResult {
  const gVars = trainableVariables(nets.generator);
  const { outputs, grads } = gradientsFromOneForward(
    () => {
      const pFake = run(nets.discriminator, shown(nets, run(nets.generator, z) as tf.Tensor4D));
      return { gLoss: nets.loss.generatorLoss(pFake), pFake };
    },
    (out) => [{ loss: out.gLoss, variables: gVars }],
  );
  return { ...outputs, gGrads: grads[0]! };
}

/**
 * Generates a batch in inference mode (BatchNorm moving statistics, no dropout),
 * as sample grids and evaluation want.
 */
export function generate(generator: Network, z: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => generator.apply(z, { training: false }) as tf.Tensor4D);
}
