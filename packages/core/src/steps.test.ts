import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GanLoss } from './contracts';
import { discriminatorGradients, generatorGradients, simultaneousGradients, trainableVariables, type StepNetworks } from './steps';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const generator = () =>
  tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 4, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }), tf.layers.reshape({ targetShape: [2, 2, 1] })] });
const discriminator = () =>
  tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 1] }), tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })] });

/** -log D(x) - log(1 - D(G(z))) and -log D(G(z)), without label noise. */
const loss: GanLoss = {
  expects: 'probability',
  discriminatorLoss: ({ real, fake }) => tf.neg(tf.add(tf.mean(tf.log(real)), tf.mean(tf.log(tf.sub(1, fake))))) as tf.Scalar,
  generatorLoss: (fake) => tf.neg(tf.mean(tf.log(fake))) as tf.Scalar,
};

/** An augmentation that halves and shifts the images and records each batch it is shown. */
function recording() {
  const shown: number[][] = [];
  const augment = (images: tf.Tensor4D) => {
    shown.push(images.shape);
    return tf.add(tf.mul(images, 0.5), 0.25) as tf.Tensor4D;
  };
  return { shown, augment };
}

const values = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));

describe('steps with augmentations', () => {
  const real = tf.randomUniform([3, 2, 2, 1], -1, 1, 'float32', 5) as tf.Tensor4D;
  const z = tf.randomNormal([3, 2], 0, 1, 'float32', 6) as tf.Tensor2D;
  const uniform = (shape: number[]) => tf.zeros(shape);

  it('simultaneous: D sees the augmented real and fake batches, and G is differentiated through the augmentation', () => {
    const nets = { generator: generator(), discriminator: discriminator(), loss };
    const { shown, augment } = recording();
    const r = simultaneousGradients({ ...nets, augment }, real, { z, uniform });
    expect(shown).toEqual([
      [3, 2, 2, 1],
      [3, 2, 2, 1],
    ]);
    const seen = (x: tf.Tensor) => tf.add(tf.mul(x, 0.5), 0.25) as tf.Tensor4D;
    const d = (x: tf.Tensor4D) => nets.discriminator.apply(x, { training: true }) as tf.Tensor;
    const fake = () => seen(nets.generator.apply(z, { training: true }) as tf.Tensor4D);
    const expectedD = tf.variableGrads(() => loss.discriminatorLoss({ real: d(seen(real)), fake: d(fake()) } as never), trainableVariables(nets.discriminator));
    const expectedG = tf.variableGrads(() => loss.generatorLoss(d(fake())), trainableVariables(nets.generator));
    values(r.dGrads).forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(values(Object.values(expectedD.grads))[i]![j]!, 6)));
    values(r.gGrads).forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(values(Object.values(expectedG.grads))[i]![j]!, 6)));
    // Without the augmentation the generator's gradient is another one: it really went through.
    const plain = simultaneousGradients(nets as StepNetworks, real, { z, uniform });
    expect(values(plain.gGrads)).not.toEqual(values(r.gGrads));
  });

  it('alternating: the D half shows D two augmented batches, the G half one', () => {
    const nets = { generator: generator(), discriminator: discriminator(), loss };
    const { shown, augment } = recording();
    const fake = nets.generator.apply(z) as tf.Tensor4D;
    discriminatorGradients({ ...nets, augment }, real, fake, { uniform });
    expect(shown).toHaveLength(2);
    generatorGradients({ ...nets, augment }, z);
    expect(shown).toHaveLength(3);
  });
});
