import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { UserInputError } from '@duel/core';

const gunzipAsync = promisify(gunzip);

/** An IDX array of unsigned bytes: its dimensions and its data, row-major. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** IDX type code of unsigned bytes, the only type MNIST-style files use. */
const UBYTE = 0x08;

/**
 * Parses an IDX file of unsigned bytes (the MNIST format: two zero bytes, the
 * type code, the number of dimensions, each dimension as a big-endian uint32,
 * then the data) and checks it has `expectedDims` dimensions and exactly the
 * bytes they call for.
 *
 * @param file - named in errors.
 * @throws UserInputError naming the file for a bad magic number, type, rank or length.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedDims: number): IdxArray {
  const bad = (why: string) => new UserInputError(`${file} is not a valid IDX file: ${why}`);
  if (bytes.length < 4) throw bad(`only ${bytes.length} bytes`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw bad(`bad magic number 0x${hex(bytes.subarray(0, 4))}`);
  if (bytes[2] !== UBYTE) throw bad(`type code 0x${bytes[2]!.toString(16)} (only unsigned bytes, 0x08, are supported)`);
  const rank = bytes[3]!;
  if (rank !== expectedDims) throw bad(`${rank} dimensions, expected ${expectedDims} (magic 0x${hex(bytes.subarray(0, 4))})`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw bad('truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerBytes;
  if (actual !== expected) {
    throw bad(`dimensions ${dims.join('x')} need ${expected} data bytes but the file has ${actual}${actual < expected ? ' (truncated)' : ''}`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Reads bytes that may be gzip-compressed (by their magic, not their name). */
export async function maybeGunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (error) {
    throw new UserInputError(`${file} is not a valid gzip file: ${(error as Error).message}`);
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
