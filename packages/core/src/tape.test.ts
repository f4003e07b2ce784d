import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradientsFromOneForward } from './tape';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function net(seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.batchNormalization(),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

describe('gradientsFromOneForward', () => {
  it('matches tf.variableGrads for two losses over disjoint variables, without leaks', () => {
    const g = net(1);
    const d = net(7);
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 3);
    const gVars = g.trainableWeights.map((w) => w.read() as tf.Variable);
    const dVars = d.trainableWeights.map((w) => w.read() as tf.Variable);
    // Both networks see the same data: d(g(x)) couples them as a GAN does.
    const lossD = () => tf.tidy(() => tf.mean(tf.square(d.apply(tf.tile(g.apply(x, { training: true }) as tf.Tensor, [1, 3]), { training: true }) as tf.Tensor)) as tf.Scalar);
    const lossG = () => tf.tidy(() => tf.mean(tf.log(tf.add(d.apply(tf.tile(g.apply(x, { training: true }) as tf.Tensor, [1, 3]), { training: true }) as tf.Tensor, 1))) as tf.Scalar);

    const expectedD = tf.variableGrads(lossD, dVars);
    const expectedG = tf.variableGrads(lossG, gVars);
    const before = tf.memory().numTensors;
    const { outputs, grads } = gradientsFromOneForward(
      () => {
        const p = d.apply(tf.tile(g.apply(x, { training: true }) as tf.Tensor, [1, 3]), { training: true }) as tf.Tensor;
        return { a: tf.mean(tf.square(p)) as tf.Scalar, b: tf.mean(tf.log(tf.add(p, 1))) as tf.Scalar };
      },
      (out) => [
        { loss: out.a, variables: dVars },
        { loss: out.b, variables: gVars },
      ],
    );
    expect(outputs.a.dataSync()[0]).toBeCloseTo(expectedD.value.dataSync()[0]!, 6);
    expect(outputs.b.dataSync()[0]).toBeCloseTo(expectedG.value.dataSync()[0]!, 6);
    const pairs: [tf.Variable[], tf.Tensor[], tf.NamedTensorMap][] = [
      [dVars, grads[0]!, expectedD.grads],
      [gVars, grads[1]!, expectedG.grads],
    ];
    for (const [vars, got, want] of pairs) {
      vars.forEach((v, i) => {
        const a = got[i]!.dataSync();
        const b = want[v.name]!.dataSync();
        expect(a.length).toBe(b.length);
        for (let j = 0; j < b.length; j++) expect(a[j]).toBeCloseTo(b[j]!, 6);
      });
    }
    tf.dispose([outputs.a, outputs.b, ...grads.flat()]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fails clearly when a loss does not depend on a variable', () => {
    const v = tf.variable(tf.scalar(2));
    const w = tf.variable(tf.scalar(3));
    expect(() =>
      gradientsFromOneForward(
        () => ({ a: tf.mul(v, v) as tf.Scalar }),
        (out) => [{ loss: out.a, variables: [w] }],
      ),
    ).toThrow(/does not depend on the variable/);
  });
});
