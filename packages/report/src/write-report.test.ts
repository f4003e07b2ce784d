import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRun } from './read-run';
import { readSweep, trialLabel, variedSettings } from './read-sweep';
import { writeRunDir, writeSweepDir } from './testing/fixtures';
import { writeReport } from './write-report';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'duel-report-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The JSON the report hands its browser side. */
function embeddedData(html: string): { kind: string; charts: { id: string }[]; samples: { epoch: number; src: string }[] } {
  const match = /<script type="application\/json" id="duel-data">(.*?)<\/script>/s.exec(html);
  return JSON.parse(match![1]!);
}

describe('writeReport', () => {
  it('rejects a missing folder and a folder that is neither run nor sweep, naming the path', async () => {
    await expect(writeReport(join(dir, 'nope'))).rejects.toMatchObject({ name: 'UserInputError', message: expect.stringContaining(join(dir, 'nope')) });
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await expect(writeReport(empty)).rejects.toThrow(join(empty, 'metrics.jsonl'));
  });

  it('writes a self-contained run report with every grid and Chart.js inlined', async () => {
    const run = join(dir, 'run');
    await writeRunDir(run, { epochs: 5, name: 'a <b> & c' });
    const out = await writeReport(run);
    expect(out).toBe(join(run, 'report.html'));
    const html = await readFile(out, 'utf8');
    expect(html).toContain('<title>a &lt;b&gt; &amp; c · duel run report</title>');
    // Nothing to fetch: no script or stylesheet by URL (the Chromium test watches the network too).
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toMatch(/Chart\.js v4\.\d+\.\d+/);
    const data = embeddedData(html);
    expect(data.kind).toBe('run');
    expect(data.samples.map((s) => s.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(data.samples[0]!.src).toBe(`data:image/png;base64,${(await readFile(join(run, 'samples', 'epoch-0001.png'))).toString('base64')}`);
    expect(data.charts.map((c) => c.id)).toEqual(['loss', 'accuracy', 'extra-fid', 'extra-grad_norm', 'extra-mean', 'throughput']);
  });

  it("shows the EMA generator's latest grid beside the last step's grid of that epoch", async () => {
    const run = join(dir, 'ema');
    await writeRunDir(run, { epochs: 3 });
    const png = await readFile(join(run, 'samples', 'epoch-0001.png'));
    for (const epoch of [1, 3]) await writeFile(join(run, 'samples', `ema-000${epoch}.png`), png);
    const html = await readFile(await writeReport(run), 'utf8');
    expect(html).toContain('EMA generator <span class="sub">epoch 3,');
    expect(html).toContain('Last step&#39;s generator <span class="sub">epoch 3');
    // The slider keeps to the last step's grids.
    expect(embeddedData(html).samples.map((s) => s.epoch)).toEqual([1, 2, 3]);
    const plain = await readFile(await writeReport(join(dir, 'run')), 'utf8');
    expect(plain).not.toContain('EMA generator');
  });

  it('embeds at most maxSamples grids, first and last kept', async () => {
    const run = join(dir, 'long');
    await writeRunDir(run, { epochs: 9, optional: false });
    const html = await readFile(await writeReport(run, { maxSamples: 3, out: join(dir, 'long.html') }), 'utf8');
    expect(embeddedData(html).samples.map((s) => s.epoch)).toEqual([1, 5, 9]);
    expect(html).toContain('Showing 3 of 9 grids');
  });

  it('reports a run with only metrics.jsonl, and one with no epochs yet', async () => {
    const bare = join(dir, 'bare');
    await mkdir(bare);
    await writeFile(join(bare, 'metrics.jsonl'), '{"epoch":1,"d_loss":0.7,"g_loss":1.1}\n');
    const html = await readFile(await writeReport(bare), 'utf8');
    expect(html).toContain('No sample grids');
    expect(html).toContain('No memorisation.png');
    expect(html).toContain('No experiment.resolved.json');
    const fresh = join(dir, 'fresh');
    await mkdir(fresh);
    await writeFile(join(fresh, 'metrics.jsonl'), '');
    expect(await readFile(await writeReport(fresh), 'utf8')).toContain('0</div><div class="k">epochs in metrics.jsonl');
  });

  it('rejects a metrics record without an epoch, naming the file', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, 'metrics.jsonl'), '{"epoch":1}\n{"d_loss":1}\n');
    await expect(readRun(bad)).rejects.toThrow(`${join(bad, 'metrics.jsonl')}: record 2 has no numeric "epoch"`);
  });

  it('detects a sweep and overlays one series per trial', async () => {
    const sweep = join(dir, 'sweep');
    await writeSweepDir(sweep, 'lr', [
      { id: 'a', settings: { 'optimizers.generator.options.learningRate': 1e-4, seed: 1 }, epochs: 3 },
      { id: 'b', settings: { 'optimizers.generator.options.learningRate': 2e-4, seed: 1 }, epochs: 2 },
    ]);
    const data = await readSweep(sweep);
    const varied = variedSettings(data.trials);
    expect(varied).toEqual(['optimizers.generator.options.learningRate']);
    expect(trialLabel(data.trials[1]!, varied)).toBe('b: learningRate=0.0002');
    const html = await readFile(await writeReport(sweep), 'utf8');
    const embedded = embeddedData(html) as unknown as { kind: string; charts: { id: string; series: { points: unknown[] }[] }[] };
    expect(embedded.kind).toBe('sweep');
    expect(embedded.charts.find((c) => c.id === 'sweep-d_loss')!.series.map((s) => s.points.length)).toEqual([3, 2]);
    expect(html).toContain('<table class="sortable results">');
  });
});
