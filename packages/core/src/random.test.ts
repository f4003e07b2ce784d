import { describe, expect, it } from 'vitest';
import { deriveSeed, permutation, SeededStepRandom, Streams } from './random';

describe('seeded randomness', () => {
  it('derives different seeds per stream, step and draw, and the same ones again', () => {
    const seeds = new Set([deriveSeed(42, 1, 0), deriveSeed(42, 1, 1), deriveSeed(42, 2, 0), deriveSeed(43, 1, 0)]);
    expect(seeds.size).toBe(4);
    expect(deriveSeed(42, 1, 7)).toBe(deriveSeed(42, 1, 7));
  });

  it('a step random repeats its draws for the same step and phase only', () => {
    const r = new SeededStepRandom(42, Streams.dropout);
    r.begin(5, 0);
    const a = [r.nextSeed(), r.nextSeed()];
    r.begin(5, 1);
    const b = r.nextSeed();
    r.begin(5, 0);
    expect([r.nextSeed(), r.nextSeed()]).toEqual(a);
    expect(a[0]).not.toBe(a[1]);
    expect(b).not.toBe(a[0]);
  });

  it('permutations are permutations, seeded', () => {
    const p = permutation(1000, 3);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, 3)).toEqual(p);
    expect(permutation(1000, 4)).not.toEqual(p);
  });
});
