/**
 * The report and the README loss plot in a real headless Chromium: real PNG
 * grids, real metrics.jsonl, the HTML opened over file:// with no network.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumExecutable, launchChromium, renderLossPlotPng, writeReport, type ChromiumSession } from '../packages/report/src/index';
import { writeRunDir, writeSweepDir } from '../packages/report/src/testing/fixtures';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(repoRoot, 'test-artifacts');
const executable = chromiumExecutable();
if (executable === undefined) {
  console.warn('report-chromium: skipped, no Chromium at /usr/bin/chromium (apt-get install -y chromium, or set DUEL_CHROMIUM)');
}

type Page = Awaited<ReturnType<ChromiumSession['newPage']>>;

interface PageWatch {
  errors: string[];
  external: string[];
}

/** Opens a file in a fresh page, recording console errors, page errors and any non-local request. */
async function open(session: ChromiumSession, file: string): Promise<{ page: Page; watch: PageWatch }> {
  const page = await session.newPage();
  const watch: PageWatch = { errors: [], external: [] };
  page.on('pageerror', (error) => watch.errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') watch.errors.push(`console.error: ${message.text()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) watch.external.push(url);
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.waitForFunction(() => (window as unknown as { duelReportReady?: boolean }).duelReportReady === true, undefined, { timeout: 10_000 });
  return { page, watch };
}

/** Every Chart.js instance on the page: its canvas id and each dataset's label and length. */
function chartShapes(page: Page) {
  return page.evaluate(() => {
    const charts = (window as unknown as { duelCharts: Record<string, { data: { datasets: { label: string; data: unknown[] }[] } }> }).duelCharts;
    return Object.fromEntries(
      Object.entries(charts).map(([id, chart]) => [id, chart.data.datasets.map((d) => ({ label: d.label, length: d.data.length }))]),
    );
  });
}

/** Pixels of a canvas close to an RGB colour, and pixels that are not transparent. */
function canvasInk(page: Page, chartId: string, rgb: [number, number, number]) {
  return page.evaluate(
    ([id, color]) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`canvas[data-chart="${id}"]`)!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      let matching = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 0) painted += 1;
        if (data[i + 3]! > 200 && Math.abs(data[i]! - color[0]) < 30 && Math.abs(data[i + 1]! - color[1]) < 30 && Math.abs(data[i + 2]! - color[2]) < 30) matching += 1;
      }
      return { painted, matching, total: data.length / 4 };
    },
    [chartId, rgb] as const,
  );
}

describe.skipIf(executable === undefined)('report in headless Chromium', () => {
  let session: ChromiumSession;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'duel-report-'));
    await mkdir(artifacts, { recursive: true });
    session = await launchChromium({ viewport: { width: 1360, height: 900 } });
  }, 30_000);

  afterAll(async () => {
    await session?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('renders a run: charts drawn, slider steps through epochs, text escaped, nothing fetched', async () => {
    const runDir = join(work, 'run <one> & "two"');
    const hostile = '<script>window.injected = 1</script> & <b>not bold</b>';
    await writeRunDir(runDir, {
      epochs: 8,
      name: 'dcgan-lego',
      findings: [
        { kind: 'd-overpowers-g', epoch: 3, message: 'D accuracy above 0.95 for 2 epochs' },
        { kind: 'mode-collapse', epoch: 7, message: hostile },
      ],
    });
    const out = await writeReport(runDir);
    expect(out).toBe(join(runDir, 'report.html'));

    const { page, watch } = await open(session, out);
    const shapes = await chartShapes(page);
    expect(shapes.loss).toEqual([
      { label: 'D loss', length: 8 },
      { label: 'G loss', length: 8 },
    ]);
    expect(shapes.accuracy?.map((d) => d.length)).toEqual([8, 8, 8, 8]);
    expect(shapes['extra-fid']).toEqual([{ label: 'FID', length: 2 }]); // epochs 3 and 6 only
    expect(shapes['extra-grad_norm']?.map((d) => d.length)).toEqual([8, 8]);
    expect(shapes['extra-mean']?.map((d) => d.length)).toEqual([8, 8]);
    expect(shapes.throughput?.map((d) => d.length)).toEqual([8]);

    // The loss canvas was really drawn: D loss blue (#2563eb) and G loss orange (#ea580c) pixels.
    const blue = await canvasInk(page, 'loss', [0x25, 0x63, 0xeb]);
    const orange = await canvasInk(page, 'loss', [0xea, 0x58, 0x0c]);
    expect(blue.matching).toBeGreaterThan(100);
    expect(orange.matching).toBeGreaterThan(100);
    expect((await canvasInk(page, 'accuracy', [0, 0, 0])).painted).toBeGreaterThan(1000);

    // The slider starts at the last epoch; Home moves it to the first, whose PNG is then shown.
    const image = page.locator('#sample-image');
    const lastSrc = await image.getAttribute('src');
    const epoch8 = (await readFile(join(runDir, 'samples', 'epoch-0008.png'))).toString('base64');
    const epoch1 = (await readFile(join(runDir, 'samples', 'epoch-0001.png'))).toString('base64');
    expect(lastSrc).toBe(`data:image/png;base64,${epoch8}`);
    await expect.poll(() => page.locator('#sample-label').textContent()).toBe('Epoch 8');
    await page.locator('#sample-slider').focus();
    await page.keyboard.press('Home');
    expect(await image.getAttribute('src')).toBe(`data:image/png;base64,${epoch1}`);
    expect(await page.locator('#sample-label').textContent()).toBe('Epoch 1');
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('#sample-label').textContent()).toBe('Epoch 2');
    expect(await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(6 * 32 + 7 * 2);
    await page.keyboard.press('End');
    await page.locator('#sample-slider').blur();

    // Hostile text shows as text: no injected script ran, no <b> element was made.
    expect(await page.evaluate(() => (window as unknown as { injected?: number }).injected)).toBeUndefined();
    expect(await page.locator('.diagnostics td', { hasText: 'window.injected' }).textContent()).toBe(hostile);
    expect(await page.locator('.diagnostics b').count()).toBe(0);
    expect(await page.locator('footer').textContent()).toContain('run <one> & "two"');

    // Header, memorisation panel and the resolved experiment.
    expect(await page.locator('header h1').textContent()).toBe('dcgan-lego');
    const header = (await page.locator('header.top').textContent()) ?? '';
    for (const text of ['FINISHED', 'tensorflow', '934.5', '8 / 8', 'bce-label-noise']) expect(header).toContain(text);
    expect(await page.locator('.memorisation img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(20 * 24 + 21 * 2);
    expect(JSON.parse((await page.locator('details pre').first().textContent()) ?? '')).toEqual(
      JSON.parse(await readFile(join(runDir, 'experiment.resolved.json'), 'utf8')),
    );

    await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
    expect(watch.errors).toEqual([]);
    expect(watch.external).toEqual([]);
    await page.close();
  }, 30_000);

  it('renders a sweep: results table, one coloured curve per trial, legend with varied settings', async () => {
    const sweepDir = join(work, 'sweep-lr');
    const lr = 'optimizers.generator.options.learningRate';
    await writeSweepDir(sweepDir, 'lr-by-batch', [
      { id: 't01', settings: { [lr]: 0.0002, 'trainer.batchSize': 64 }, epochs: 6 },
      { id: 't02', settings: { [lr]: 0.0001, 'trainer.batchSize': 64 }, epochs: 6 },
      { id: 't03', settings: { [lr]: 0.0002, 'trainer.batchSize': 128 }, epochs: 4, status: 'FAILED' },
    ]);
    const out = await writeReport(sweepDir, { out: join(work, 'out', 'sweep.html') });
    const { page, watch } = await open(session, out);

    const shapes = await chartShapes(page);
    expect(shapes['sweep-d_loss']).toEqual([
      { label: 't01: learningRate=0.0002, batchSize=64', length: 6 },
      { label: 't02: learningRate=0.0001, batchSize=64', length: 6 },
      { label: 't03: learningRate=0.0002, batchSize=128', length: 4 },
    ]);
    expect(shapes['sweep-g_loss']?.map((d) => d.length)).toEqual([6, 6, 4]);
    const colors = await page.evaluate(() =>
      (window as unknown as { duelCharts: Record<string, { data: { datasets: { borderColor: string }[] } }> }).duelCharts['sweep-d_loss']!.data.datasets.map(
        (d) => d.borderColor,
      ),
    );
    expect(new Set(colors).size).toBe(3);
    expect((await canvasInk(page, 'sweep-d_loss', [0x16, 0xa3, 0x4a])).matching).toBeGreaterThan(50); // third trial's green

    // The results table: one row per trial; sorting by d_loss orders the rows by value.
    const rows = page.locator('table.results tbody tr');
    expect(await rows.count()).toBe(3);
    await page.locator('table.results th', { hasText: 'd_loss' }).click();
    const column = await page.locator('table.results th').allTextContents();
    const dLossIndex = column.findIndex((text) => text.startsWith('d_loss'));
    const sorted = await rows.evaluateAll((trs, i) => trs.map((tr) => Number((tr as HTMLTableRowElement).cells[i]!.getAttribute('data-sort'))), dLossIndex);
    expect(sorted).toEqual([...sorted].sort((a, b) => a - b));
    expect(await page.locator('.gallery figure').count()).toBe(3);

    await page.screenshot({ path: join(artifacts, 'report-sweep.png'), fullPage: true });
    expect(watch.errors).toEqual([]);
    expect(watch.external).toEqual([]);
    await page.close();
  }, 30_000);

  it('renders the README loss plot as a PNG with both curves drawn', async () => {
    const runDir = join(work, 'plot-run');
    await writeRunDir(runDir, { epochs: 12, name: 'plot-run' });
    // Its own browser, as the README script will call it.
    const png = await renderLossPlotPng(runDir, join(artifacts, 'loss-plot.png'));
    const bytes = await readFile(png);
    expect(bytes.subarray(1, 4).toString('ascii')).toBe('PNG');
    // Default 1100 CSS px wide at scale 2.
    expect(bytes.readUInt32BE(16)).toBe(2200);

    // Decode it in the browser and look for the two loss colours.
    const page = await session.newPage();
    await page.setContent('<canvas id="c"></canvas>');
    const ink = await page.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const canvas = document.getElementById('c') as HTMLCanvasElement;
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const context = canvas.getContext('2d')!;
      context.drawImage(img, 0, 0);
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      const near = (i: number, r: number, g: number, b: number) => Math.abs(data[i]! - r) < 30 && Math.abs(data[i + 1]! - g) < 30 && Math.abs(data[i + 2]! - b) < 30;
      let blue = 0;
      let orange = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (near(i, 0x25, 0x63, 0xeb)) blue += 1;
        if (near(i, 0xea, 0x58, 0x0c)) orange += 1;
      }
      return { blue, orange };
    }, `data:image/png;base64,${bytes.toString('base64')}`);
    expect(ink.blue).toBeGreaterThan(500);
    expect(ink.orange).toBeGreaterThan(500);
    await page.close();
  }, 30_000);
});

