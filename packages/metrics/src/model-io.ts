import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { UserInputError } from '@duel/core';

/**
 * Reading and writing tfjs models in the converter's on-disk format
 * (`model.json` + binary weight shards) with plain node:fs: no dependency
 * on tfjs-node's file:// handler, so it works with any backend.
 */

/** Where a model directory keeps its topology. */
export const MODEL_JSON = 'model.json';
/** The single weight file this module writes. */
export const WEIGHTS_BIN = 'weights.bin';

/** Writes `model` to `dir` as model.json + weights.bin (atomically per file). */
export async function saveModelToDir(model: tf.LayersModel, dir: string, metadata?: Record<string, unknown>): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await mkdir(dir, { recursive: true });
      const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(metadata || artifacts.userDefinedMetadata ? { userDefinedMetadata: { ...artifacts.userDefinedMetadata, ...metadata } as Record<string, object> } : {}),
      };
      // Weights first, topology last: a directory with a model.json is complete.
      await writeAtomically(join(dir, WEIGHTS_BIN), new Uint8Array(weights));
      await writeAtomically(join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** A model directory's parsed artifacts and a content hash of them. */
export interface LoadedArtifacts {
  readonly artifacts: tf.io.ModelArtifacts;
  /** 'layers-model' or 'graph-model'. */
  readonly format: 'layers-model' | 'graph-model';
  /**
   * sha256 (hex) over the topology, the weight specs and every weight shard
   * in manifest order; metadata (training time and the like) is left out, so
   * equal weights give equal hashes.
   */
  readonly hash: string;
  /** The model.json that was read. */
  readonly modelJsonPath: string;
}

/**
 * Reads a converter-format model from a directory (or the path of its
 * model.json): topology, every weight shard the manifest lists, and a hash.
 * Errors name the missing file.
 */
export async function readModelArtifacts(path: string, what = 'model'): Promise<LoadedArtifacts> {
  const modelJsonPath = path.endsWith('.json') ? path : join(path, MODEL_JSON);
  let text: string;
  try {
    text = await readFile(modelJsonPath, 'utf8');
  } catch (error) {
    throw new UserInputError(`${what}: cannot read ${modelJsonPath} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(text) as tf.io.ModelJSON;
  } catch (error) {
    throw new UserInputError(`${what}: ${modelJsonPath} is not valid JSON (${(error as Error).message})`);
  }
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new UserInputError(`${what}: ${modelJsonPath} lacks modelTopology or weightsManifest; is it a TensorFlow.js model.json?`);
  }
  const hash = createHash('sha256').update(JSON.stringify(modelJson.modelTopology));
  const dir = dirname(modelJsonPath);
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const buffers: ArrayBuffer[] = [];
    hash.update(JSON.stringify(manifest.flatMap((group) => group.weights)));
    for (const group of manifest) {
      for (const shard of group.paths) {
        const file = join(dir, shard);
        let bytes: Buffer;
        try {
          bytes = await readFile(file);
        } catch (error) {
          throw new UserInputError(`${what}: weight file ${file} listed in ${modelJsonPath} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
        }
        hash.update(bytes);
        buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      }
    }
    return [manifest.flatMap((group) => group.weights), buffers];
  });
  const topology = modelJson.modelTopology as { node?: unknown };
  const format = modelJson.format === 'graph-model' || topology.node !== undefined ? 'graph-model' : 'layers-model';
  return { artifacts, format, hash: hash.digest('hex'), modelJsonPath };
}

/** An in-memory IOHandler over already-read artifacts. */
export function memoryHandler(artifacts: tf.io.ModelArtifacts): tf.io.IOHandler {
  return { load: async () => artifacts };
}

/** Whether `dir` holds a complete saved model (its model.json exists). */
export async function hasSavedModel(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, MODEL_JSON))).isFile();
  } catch {
    return false;
  }
}
