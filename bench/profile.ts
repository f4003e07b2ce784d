import type * as tf from '@tensorflow/tfjs';

type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

/** Kernel time per step, by kernel name, from a tf.profile of `steps` steps. */
export interface ProfileSummary {
  kernels_per_step: number;
  kernel_ms_per_step: number;
  /** [name, ms per step, calls per step], slowest first. */
  by_kernel: [string, number, number][];
}

/**
 * Sums tf.profile's kernels by name. Ops that wrap other kernels (names
 * ending in `__op`, e.g. fusedConv2d__op) are left out so nothing is counted twice.
 */
export function summariseProfile(info: ProfileInfo, steps: number): ProfileSummary {
  const by = new Map<string, [number, number]>();
  let total = 0;
  let count = 0;
  for (const k of info.kernels) {
    if (k.name.endsWith('__op')) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const entry = by.get(k.name) ?? [0, 0];
    entry[0] += ms;
    entry[1] += 1;
    by.set(k.name, entry);
    total += ms;
    count += 1;
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    kernels_per_step: round(count / steps),
    kernel_ms_per_step: round(total / steps),
    by_kernel: [...by].sort((a, b) => b[1][0] - a[1][0]).map(([name, [ms, calls]]) => [name, round(ms / steps), round(calls / steps)]),
  };
}
