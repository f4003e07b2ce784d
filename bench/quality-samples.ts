/**
 * Generated samples on disk, the hand-off between a trainer (duel or the
 * Keras reference, reference/keras_quality.py) and the scorer of
 * bench/quality.ts: `<path>.bin` holds float32 little-endian N x H x W x C
 * values in [-1, 1]; `<path>.json` describes it.
 */
import { endianness } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** The header of a samples file (`format: duel-samples/1`); other keys are facts about the run. */
export interface SamplesHeader {
  format: 'duel-samples/1';
  count: number;
  height: number;
  width: number;
  channels: number;
  dtype: 'float32';
  byteOrder: 'little';
  range: [number, number];
  /** The .bin file, beside the header. */
  data: string;
  [fact: string]: unknown;
}

/** Writes `<path>.json` and `<path>.bin`. */
export function writeSamples(path: string, images: Float32Array, shape: [number, number, number, number], facts: Record<string, unknown> = {}): void {
  if (endianness() !== 'LE') throw new Error('writeSamples: a big-endian host would need a byte swap');
  const [count, height, width, channels] = shape;
  if (images.length !== count * height * width * channels) throw new Error(`writeSamples: ${images.length} values are not ${shape.join('x')}`);
  const header: SamplesHeader = { format: 'duel-samples/1', count, height, width, channels, dtype: 'float32', byteOrder: 'little', range: [-1, 1], data: `${basename(path)}.bin`, ...facts };
  writeFileSync(`${path}.bin`, new Uint8Array(images.buffer, images.byteOffset, images.byteLength));
  writeFileSync(`${path}.json`, `${JSON.stringify(header, null, 1)}\n`);
}

/** Reads a samples file as a [-1, 1] NHWC tensor (the caller disposes it), checking header and size. */
export function readSamples(path: string): { header: SamplesHeader; images: tf.Tensor4D } {
  const jsonPath = path.endsWith('.json') ? path : `${path}.json`;
  const header = JSON.parse(readFileSync(jsonPath, 'utf8')) as SamplesHeader;
  if (header.format !== 'duel-samples/1' || header.dtype !== 'float32' || header.byteOrder !== 'little') {
    throw new Error(`${jsonPath}: not a duel-samples/1 float32 little-endian file (format ${String(header.format)}, dtype ${String(header.dtype)})`);
  }
  const bytes = readFileSync(join(dirname(jsonPath), header.data));
  const expected = header.count * header.height * header.width * header.channels;
  if (bytes.byteLength !== expected * 4) throw new Error(`${header.data}: ${bytes.byteLength} bytes, expected ${expected * 4} for ${header.count}x${header.height}x${header.width}x${header.channels} float32`);
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= -1.0001 && v <= 1.0001)) throw new Error(`${header.data}: value ${v} at ${i} is outside [-1, 1]`);
  }
  return { header, images: tf.tensor4d(values, [header.count, header.height, header.width, header.channels]) };
}
