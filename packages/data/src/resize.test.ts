import { describe, expect, it } from 'vitest';
import { resizeBilinear } from './resize';

describe('resizeBilinear (TF half-pixel centres)', () => {
  it('halves by averaging each 2x2 block', () => {
    // 4x4 ramp: value = 10 * x + 40 * y
    const src = Uint8Array.from({ length: 16 }, (_, i) => 10 * (i % 4) + 40 * Math.floor(i / 4));
    // Output (0,0) samples input (0.5, 0.5): the mean of 0, 10, 40, 50 = 25.
    expect(Array.from(resizeBilinear(src, 4, 4, 1, 2, 2))).toEqual([25, 45, 105, 125]);
  });

  it('doubles with edge clamping and quarter weights', () => {
    const src = Uint8Array.from([0, 100, 200, 40]); // 2x2: [[0, 100], [200, 40]]
    const out = resizeBilinear(src, 2, 2, 1, 4, 4);
    // Output x = 1 samples input x = 0.25: 0 + 0.25 * 100 = 25 in row 0 (row 0 clamps: y = -0.25).
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 25, 75, 100]);
    // Output (1,1) samples (0.25, 0.25): 0.75*0.75*0 + 0.75*0.25*100 + 0.25*0.75*200 + 0.25*0.25*40 = 58.75 -> 59.
    expect(out[5]).toBe(59);
  });

  it('keeps channels apart', () => {
    const src = Uint8Array.from([0, 255, 10, 100, 155, 20]); // 2x1 RGB
    expect(Array.from(resizeBilinear(src, 2, 1, 3, 1, 1))).toEqual([50, 205, 15]);
  });

  it('scales 28 to 32 and 64 without losing a constant image', () => {
    const src = new Uint8Array(28 * 28).fill(77);
    for (const size of [32, 64]) {
      const out = resizeBilinear(src, 28, 28, 1, size, size);
      expect(out.length).toBe(size * size);
      expect(out.every((v) => v === 77)).toBe(true);
    }
  });

  it('resizes each axis on its own (no aspect crop)', () => {
    const src = Uint8Array.from({ length: 8 }, (_, i) => i * 30); // 8x1 ramp
    expect(Array.from(resizeBilinear(src, 8, 1, 1, 2, 2))).toEqual([45, 165, 45, 165]); // each output column averages four inputs: (0+30+60+90)/4, (120+...+210)/4
  });

  it('rejects a buffer of the wrong length', () => {
    expect(() => resizeBilinear(new Uint8Array(5), 2, 2, 1, 4, 4)).toThrow(/not 2x2x1/);
  });
});
