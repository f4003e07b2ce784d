import { describe, expect, it } from 'vitest';
import { decodeFeatureFile, encodeFeatureFile } from './feature-file';

describe('feature files', () => {
  it('round-trips float64 and int32 arrays exactly, with metadata', () => {
    const a = new Float64Array([Math.PI, -0, 1e-308, Number.MAX_VALUE, 1 / 3]);
    const b = Int32Array.from([-1, 0, 2 ** 31 - 1]);
    const bytes = encodeFeatureFile({ meta: { k: 3, note: 'x' }, arrays: { a: { shape: [5], data: a }, b: { shape: [1, 3], data: b } } });
    expect(bytes.toString('latin1', 0, 8)).toBe('DUELF64\0');
    const back = decodeFeatureFile(bytes);
    expect(back.meta).toEqual({ k: 3, note: 'x' });
    expect([...back.arrays.a!.data]).toEqual([...a]);
    expect(Object.is(back.arrays.a!.data[1], -0)).toBe(true);
    expect(back.arrays.b!.data).toBeInstanceOf(Int32Array);
    expect(back.arrays.b!.shape).toEqual([1, 3]);
    expect([...back.arrays.b!.data]).toEqual([...b]);
  });

  it('rejects a wrong shape and a foreign file', () => {
    expect(() => encodeFeatureFile({ meta: {}, arrays: { a: { shape: [2, 2], data: new Float64Array(3) } } })).toThrow(/shape \[2, 2\]/);
    expect(() => decodeFeatureFile(new Uint8Array(20), 'x.bin')).toThrow(/x.bin: not a duel feature file/);
  });
});
