import { readFile, writeFile } from 'node:fs/promises';

/**
 * A small self-describing container for float64/int32 arrays, so that the
 * TypeScript metrics and the Python reference read the very same numbers:
 *
 *   bytes 0..7   magic "DUELF64\0"
 *   bytes 8..11  header length H, uint32 little-endian
 *   12..12+H     header, UTF-8 JSON: { meta, arrays: { name: { dtype, shape, offset } } }
 *   then zero padding to a multiple of 8, then the data block; each array's
 *   `offset` counts bytes from the start of the data block, little-endian.
 */
export const FEATURE_FILE_MAGIC = 'DUELF64\0';

/** Arrays a feature file holds. */
export type FeatureArray = Float64Array | Int32Array;

/** What a feature file holds: named arrays with shapes, plus free metadata. */
export interface FeatureFileContents {
  readonly meta: Record<string, unknown>;
  readonly arrays: Record<string, { readonly shape: readonly number[]; readonly data: FeatureArray }>;
}

interface HeaderEntry {
  dtype: 'float64' | 'int32';
  shape: number[];
  offset: number;
}

/** Encodes contents as the bytes of a feature file. */
export function encodeFeatureFile(contents: FeatureFileContents): Buffer {
  const entries: Record<string, HeaderEntry> = {};
  let offset = 0;
  for (const [name, { shape, data }] of Object.entries(contents.arrays)) {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`feature file: array '${name}' has ${data.length} values, shape [${shape.join(', ')}] needs ${count}`);
    entries[name] = { dtype: data instanceof Float64Array ? 'float64' : 'int32', shape: [...shape], offset };
    offset += Math.ceil(data.byteLength / 8) * 8;
  }
  const header = Buffer.from(JSON.stringify({ meta: contents.meta, arrays: entries }), 'utf8');
  const dataStart = Math.ceil((12 + header.length) / 8) * 8;
  const out = Buffer.alloc(dataStart + offset);
  out.write(FEATURE_FILE_MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  for (const [name, { data }] of Object.entries(contents.arrays)) {
    const at = dataStart + entries[name]!.offset;
    const view = new DataView(out.buffer, out.byteOffset + at, data.byteLength);
    if (data instanceof Float64Array) data.forEach((v, i) => view.setFloat64(i * 8, v, true));
    else data.forEach((v, i) => view.setInt32(i * 4, v, true));
  }
  return out;
}

/** Decodes the bytes of a feature file; `source` names it in errors. */
export function decodeFeatureFile(bytes: Uint8Array, source = 'feature file'): FeatureFileContents {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== FEATURE_FILE_MAGIC) throw new Error(`${source}: not a duel feature file (bad magic)`);
  const headerLength = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as { meta: Record<string, unknown>; arrays: Record<string, HeaderEntry> };
  const dataStart = Math.ceil((12 + headerLength) / 8) * 8;
  const arrays: Record<string, { shape: number[]; data: FeatureArray }> = {};
  for (const [name, entry] of Object.entries(header.arrays)) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const width = entry.dtype === 'float64' ? 8 : 4;
    const at = dataStart + entry.offset;
    if (at + count * width > buf.length) throw new Error(`${source}: array '${name}' runs past the end of the file`);
    const view = new DataView(buf.buffer, buf.byteOffset + at, count * width);
    const data = entry.dtype === 'float64' ? new Float64Array(count) : new Int32Array(count);
    if (data instanceof Float64Array) for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true);
    else for (let i = 0; i < count; i++) data[i] = view.getInt32(i * 4, true);
    arrays[name] = { shape: entry.shape, data };
  }
  return { meta: header.meta, arrays };
}

/** Writes a feature file. */
export async function writeFeatureFile(path: string, contents: FeatureFileContents): Promise<void> {
  await writeFile(path, encodeFeatureFile(contents));
}

/** Reads a feature file. */
export async function readFeatureFile(path: string): Promise<FeatureFileContents> {
  return decodeFeatureFile(await readFile(path), path);
}
