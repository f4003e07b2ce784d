/**
 * @duel/metrics against numpy/scipy: the same float64 features (and the same
 * KID subsets) go to reference/metrics_reference.py and to the TypeScript
 * code; every figure must agree to 1e-6 relative.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../packages/core/src/index';
import { fid, kid, kidSubsets, precisionRecall, sampleDiversity, writeFeatureFile, type FeatureMatrix } from '../packages/metrics/src/index';

const ROOT = resolve(__dirname, '..');
const PYTHON = process.env.DUEL_PYTHON ?? join(ROOT, '.venv/bin/python');
const SCRIPT = join(ROOT, 'reference/metrics_reference.py');

function pythonProblem(): string | undefined {
  if (!existsSync(PYTHON)) return `no Python at ${PYTHON} (set DUEL_PYTHON)`;
  const probe = spawnSync(PYTHON, ['-c', 'import numpy, scipy'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `${PYTHON} lacks numpy/scipy: ${probe.stderr.trim().split('\n').pop()}`;
}
const problem = pythonProblem();
if (problem) console.warn(`metrics-reference: SKIPPED, ${problem}`);

/**
 * Correlated Gaussian features: scale * z A + shift, z standard normal
 * (Box-Muller on mulberry32), A = I + 0.1 N(0, 1) drawn from `mixSeed`.
 */
function correlatedFeatures(n: number, d: number, mixSeed: number, seed: number, shift: number, scale: number): FeatureMatrix {
  const mixNext = mulberry32(mixSeed);
  const next = mulberry32(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const mixNormal = (): number => Math.sqrt(-2 * Math.log(1 - mixNext())) * Math.cos(2 * Math.PI * mixNext());
  const mix = Float64Array.from({ length: d * d }, (_, i) => scale * ((i % (d + 1) === 0 ? 1 : 0) + 0.1 * mixNormal()));
  const data = new Float64Array(n * d);
  const z = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) z[k] = normal();
    for (let j = 0; j < d; j++) {
      let s = shift;
      for (let k = 0; k < d; k++) s += z[k]! * mix[k * d + j]!;
      data[i * d + j] = s;
    }
  }
  return { n, d, data };
}

const work = mkdtempSync(join(tmpdir(), 'duel-metrics-ref-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const relative = (got: number, want: number): number => Math.abs(got - want) / Math.max(Math.abs(want), 1e-300);

describe.skipIf(problem !== undefined)('metrics match the numpy/scipy reference', () => {
  const cases = [
    { name: 'd=64', real: correlatedFeatures(500, 64, 1, 11, 0, 1), fake: correlatedFeatures(400, 64, 1, 12, 0.1, 0.9), k: 3, subsets: 12, size: 150 },
    { name: 'd=200', real: correlatedFeatures(600, 200, 2, 21, 0, 1), fake: correlatedFeatures(450, 200, 3, 22, 0.05, 0.95), k: 5, subsets: 6, size: 300 },
  ];
  it.each(cases)('$name: FID, KID, precision/recall and diversity to 1e-6 relative', async ({ name, real, fake, k, subsets, size }) => {
    const indices = kidSubsets(real.n, fake.n, { subsets, subsetSize: size, seed: 5 });
    const flat = (list: readonly Int32Array[]): Int32Array => {
      const out = new Int32Array(list.length * size);
      list.forEach((s, i) => out.set(s, i * size));
      return out;
    };
    const input = join(work, `${name}.bin`);
    const output = join(work, `${name}.json`);
    await writeFeatureFile(input, {
      meta: { k },
      arrays: {
        real: { shape: [real.n, real.d], data: real.data },
        fake: { shape: [fake.n, fake.d], data: fake.data },
        kid_x: { shape: [subsets, size], data: flat(indices.x) },
        kid_y: { shape: [subsets, size], data: flat(indices.y) },
      },
    });
    const run = spawnSync(PYTHON, [SCRIPT, input, output], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const want = JSON.parse(readFileSync(output, 'utf8')) as Record<string, number>;

    const gotKid = kid(real, fake, { indices });
    const gotPr = precisionRecall(real, fake, { k });
    const got: Record<string, number> = {
      fid: fid(real, fake),
      kid: gotKid.mean,
      kid_std: gotKid.std,
      precision: gotPr.precision,
      recall: gotPr.recall,
      diversity_real: sampleDiversity(real),
      diversity_fake: sampleDiversity(fake),
    };
    const errors = Object.fromEntries(Object.keys(got).map((key) => [key, relative(got[key]!, want[key]!)]));
    console.log(`metrics-reference ${name}: ours ${JSON.stringify(got)}\n  relative errors ${JSON.stringify(errors)}`);
    for (const key of Object.keys(got)) expect(errors[key], `${key}: ours ${got[key]} vs reference ${want[key]}`).toBeLessThan(1e-6);
    // The cases must be informative: clearly different sets, fractions not at 0 or 1.
    expect(want.fid!).toBeGreaterThan(0.1);
    expect(want.kid!).toBeGreaterThan((3 * want.kid_std!) / Math.sqrt(subsets));
    expect(want.precision!).toBeGreaterThan(0.05);
    expect(want.precision!).toBeLessThan(0.999);
  });
});
