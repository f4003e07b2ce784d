import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from './contracts';
import { UserInputError } from './errors';
import { writeDirAtomic } from './files';

/**
 * Saves a network in the tfjs layers format (`model.json` + `weights.bin`),
 * written atomically, with no backend-specific file handler, so it works on
 * every backend and loads in tfjs anywhere. Returns the paths of the files
 * written, for a tracker to upload.
 */
export async function saveNetwork(network: Network, dir: string): Promise<string[]> {
  await network.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData ? new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[])) : new Uint8Array();
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: `duel with TensorFlow.js ${tf.version.tfjs}`,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      writeDirAtomic(dir, { 'model.json': JSON.stringify(modelJson), 'weights.bin': weights });
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
  return [join(dir, 'model.json'), join(dir, 'weights.bin')];
}

/** Loads what `saveNetwork` wrote. */
export async function loadNetwork(dir: string): Promise<Network> {
  const jsonPath = join(dir, 'model.json');
  const binPath = join(dir, 'weights.bin');
  if (!existsSync(jsonPath) || !existsSync(binPath)) throw new UserInputError(`${dir}: no saved network here (model.json and weights.bin expected)`);
  const modelJson = JSON.parse(readFileSync(jsonPath, 'utf8')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const weights = readFileSync(binPath);
  const buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((m) => m.weights), weightData: buffer }),
  );
}
