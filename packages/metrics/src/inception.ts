import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { definePlugin, UserInputError } from '@duel/core';
import { prepareImages, type ExtractorContext, type FeatureExtractor } from './extractor';
import { memoryHandler, readModelArtifacts } from './model-io';

/** Options of the `inception-v3` extractor. */
export const inceptionOptions = z
  .object({
    /**
     * Folder holding a TensorFlow.js conversion of Keras' InceptionV3 (its
     * model.json and weight shards), or the model.json itself. Relative paths
     * resolve against the experiment's folder. Never downloaded: see the
     * metrics package README.
     */
    path: z.string().min(1),
    /** Images per forward pass. @default 32 */
    batchSize: z.number().int().min(1).max(1024).default(32),
  })
  .strict();

export type InceptionOptions = z.output<typeof inceptionOptions>;

const HOW_TO = 'duel never downloads it; packages/metrics/README.md says how to obtain it (convert Keras InceptionV3 with tensorflowjs_converter)';

/** The part of tf.LayersModel and tf.GraphModel the extractor uses. */
type Runner = (x: tf.Tensor4D) => tf.Tensor;

/**
 * Loads a converter-format model (layers or graph) from disk and wraps it
 * as an extractor: images are resized to the model's input (299 for
 * Inception-v3), gray repeated to RGB, kept in [-1, 1] (InceptionV3's own
 * `preprocess_input` range), and a spatial output is average-pooled, so a
 * model exported with or without `pooling='avg'` gives 2048 features.
 */
export async function loadConvertedExtractor(path: string, options: { batchSize: number; id?: string }): Promise<FeatureExtractor> {
  if (!existsSync(path)) throw new UserInputError(`inception-v3: no model at ${path}; ${HOW_TO}`);
  const loaded = await readModelArtifacts(path, 'inception-v3');
  let run: Runner;
  let inputShape: readonly (number | null)[] | undefined;
  let release: () => void;
  if (loaded.format === 'graph-model') {
    const graph = await tf.loadGraphModel(memoryHandler(loaded.artifacts));
    inputShape = graph.inputs[0]?.shape;
    run = (x) => {
      const y = graph.execute(x);
      return Array.isArray(y) ? y[0]! : (y as tf.Tensor);
    };
    release = () => graph.dispose();
  } else {
    const layers = await tf.loadLayersModel(memoryHandler(loaded.artifacts));
    inputShape = layers.inputs[0]?.shape;
    run = (x) => {
      const y = layers.predict(x);
      return Array.isArray(y) ? y[0]! : y;
    };
    release = () => layers.dispose();
  }
  const size = inputShape?.[1] ?? 299;
  if (inputShape?.[2] != null && inputShape[2] !== size) throw new UserInputError(`inception-v3: ${loaded.modelJsonPath} takes non-square ${size}x${inputShape[2]} input`);
  const channels = inputShape?.[3] ?? 3;
  if (channels !== 1 && channels !== 3) throw new UserInputError(`inception-v3: ${loaded.modelJsonPath} takes ${channels}-channel input; expected 1 or 3`);
  const embed = (images: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      const y = run(prepareImages(images, size, channels));
      if (y.rank === 4) return tf.mean(y, [1, 2]) as tf.Tensor2D;
      if (y.rank === 2) return y as tf.Tensor2D;
      throw new UserInputError(`inception-v3: ${loaded.modelJsonPath} outputs rank ${y.rank}; expected pooled [N, D] or spatial [N, H, W, D] features`);
    });
  // One probe image tells the feature size (graph models often leave it unknown).
  const probe = tf.zeros([1, size, size, channels]) as tf.Tensor4D;
  const probed = embed(probe);
  const featureDim = probed.shape[1];
  tf.dispose([probe, probed]);
  return {
    id: options.id ?? 'inception-v3',
    hash: loaded.hash,
    featureDim,
    metadata: { path: loaded.modelJsonPath, format: loaded.format, inputSize: size },
    async features(images: tf.Tensor4D): Promise<Float64Array> {
      const n = images.shape[0];
      const out = new Float64Array(n * featureDim);
      for (let i = 0; i < n; i += options.batchSize) {
        const count = Math.min(options.batchSize, n - i);
        const y = tf.tidy(() => embed(tf.slice(images, [i, 0, 0, 0], [count, -1, -1, -1])));
        try {
          out.set(await y.data(), i * featureDim);
        } finally {
          y.dispose();
        }
      }
      return out;
    },
    dispose: release,
  };
}

/**
 * The `inception-v3` extractor: the pool features (2048) of a locally
 * converted Keras InceptionV3, the network FID is defined with (Heusel et al.
 * 2017). Numbers are comparable with other tfjs/Keras-weight runs, not
 * exactly with pytorch-fid's TF-ported weights.
 */
export const inceptionExtractor = definePlugin({
  kind: 'extractor',
  name: 'inception-v3',
  description: 'Inception-v3 pool features from a local TensorFlow.js conversion (never downloaded)',
  options: inceptionOptions,
  async create(options, context: ExtractorContext): Promise<FeatureExtractor> {
    const path = isAbsolute(options.path) ? options.path : resolve(context.baseDir ?? process.cwd(), options.path);
    return loadConvertedExtractor(path, { batchSize: options.batchSize });
  },
});
