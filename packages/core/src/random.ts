import type { StepRandom } from './contracts';

/** 32-bit mix (murmur3 finaliser): spreads nearby inputs over the whole range. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seed derived from a run seed and a list of integers (stream id, step...). */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = mix32(seed ^ 0x9e3779b9);
  for (const part of parts) h = mix32(h ^ mix32(part + 0x632be5ab));
  return h;
}

/** Named streams, so that adding a draw to one never shifts another. */
export const Streams = {
  latent: 1,
  labelNoise: 2,
  dropout: 3,
  dataOrder: 4,
  init: 5,
  fixedLatent: 6,
  augment: 7,
  evaluation: 8,
} as const;

/**
 * The per-step random source the trainer hands to networks and losses. Its
 * whole state is (seed, stream, step, phase, counter): the counter restarts with each
 * step, so a resumed run at step k draws exactly what the original drew.
 */
export class SeededStepRandom implements StepRandom {
  private step = 0;
  private phase = 0;
  private counter = 0;
  constructor(
    private readonly seed: number,
    private readonly stream: number,
  ) {}

  /** Starts the draws of a step (or of a phase within a step). */
  begin(step: number, phase = 0): void {
    this.step = step;
    this.phase = phase;
    this.counter = 0;
  }

  nextSeed(): number {
    return deriveSeed(this.seed, this.stream, this.step, this.phase, this.counter++);
  }
}

/** Mulberry32: a small seeded PRNG for host-side draws (shuffles). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher-Yates permutation of 0..n-1 from a seed. */
export function permutation(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const next = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
