/**
 * `duel report` on a real (tiny) run and a real (tiny) sweep made by the CLI,
 * opened in headless Chromium: what a user gets after `duel train` / `duel sweep`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumExecutable, launchChromium, type ChromiumSession } from '../packages/report/src/index';
import { duel, repoRoot, type CliResult } from './support/cli';
import { readJsonLines, tempDir, tinySet } from './support/runs';

const experimentFile = join(__dirname, '..', 'experiments', 'dcgan-fashion-mnist.yaml');
const artifacts = join(repoRoot, 'test-artifacts');
const executable = chromiumExecutable();
if (executable === undefined) {
  console.warn('cli-report: browser checks skipped, no Chromium at /usr/bin/chromium (apt-get install -y chromium, or set DUEL_CHROMIUM)');
}

type Page = Awaited<ReturnType<ChromiumSession['newPage']>>;

/** Opens a report in a fresh page, recording console errors, page errors and any request off the page itself. */
async function open(session: ChromiumSession, file: string): Promise<{ page: Page; errors: string[]; external: string[] }> {
  const page = await session.newPage();
  const errors: string[] = [];
  const external: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  page.on('request', (request) => {
    if (!/^(file|data):/.test(request.url())) external.push(request.url());
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.waitForFunction(() => (window as unknown as { duelReportReady?: boolean }).duelReportReady === true, undefined, { timeout: 15_000 });
  return { page, errors, external };
}

/** Each Chart.js chart on the page: dataset label -> number of points. */
function charts(page: Page): Promise<Record<string, Record<string, number>>> {
  return page.evaluate(() => {
    const all = (window as unknown as { duelCharts: Record<string, { data: { datasets: { label: string; data: unknown[] }[] } }> }).duelCharts;
    return Object.fromEntries(Object.entries(all).map(([id, chart]) => [id, Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.data.length]))]));
  });
}

/** Pixels of a chart's canvas that are drawn on. */
function painted(page: Page, chartId: string): Promise<number> {
  return page.evaluate((id) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`canvas[data-chart="${id}"]`)!;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) count += 1;
    return count;
  }, chartId);
}

const pngUri = (path: string) => `data:image/png;base64,${readFileSync(path).toString('base64')}`;

describe('duel report on a real run and a real sweep', () => {
  const root = tempDir('duel-cli-report-');
  const runDir = join(root, 'run');
  const sweepDir = join(root, 'sweep');
  const reports: Record<'run' | 'sweep' | 'missing', CliResult | undefined> = { run: undefined, sweep: undefined, missing: undefined };

  beforeAll(async () => {
    const sweepFile = join(root, 'sweep.yaml');
    const set = ['trainer.epochs=2', 'data.options.limit=96', 'data.options.imageSize=32', 'trainer.batchSize=32'];
    writeFileSync(sweepFile, [`name: report-sweep`, `base: ${JSON.stringify(experimentFile)}`, 'grid:', '  loss.options.noise: [0, 0.2]', 'seeds: [1]', `set: ${JSON.stringify(set)}`, ''].join('\n'));
    const t0 = performance.now();
    const [train, sweep] = await Promise.all([
      duel(['train', experimentFile, '--out', runDir, ...[...tinySet, 'trainer.epochs=2'].flatMap((s) => ['--set', s])]),
      duel(['sweep', sweepFile, '--out', sweepDir, '--parallel', '2']),
    ]);
    expect(train.code, train.stderr).toBe(0);
    expect(sweep.code, sweep.stderr).toBe(0);
    const t1 = performance.now();
    [reports.run, reports.sweep, reports.missing] = await Promise.all([duel(['report', runDir]), duel(['report', sweepDir]), duel(['report', '/nonexistent/duel-run'])]);
    console.info(`cli-report: train + sweep ${((t1 - t0) / 1000).toFixed(1)} s, three reports ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }, 240_000);

  it('writes report.html into the run directory and the sweep directory', () => {
    for (const [result, dir] of [
      [reports.run!, runDir],
      [reports.sweep!, sweepDir],
    ] as const) {
      expect(result.code, result.stderr).toBe(0);
      const path = join(dir, 'report.html');
      expect(result.stderr).toContain(`report: ${path}`);
      expect(existsSync(path)).toBe(true);
    }
  });

  it('refuses a folder that does not exist with exit code 2, naming it', () => {
    const result = reports.missing!;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: .*\/nonexistent\/duel-run/m);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  describe.skipIf(executable === undefined)('in headless Chromium', () => {
    let session: ChromiumSession;

    beforeAll(async () => {
      mkdirSync(artifacts, { recursive: true });
      session = await launchChromium({ viewport: { width: 1360, height: 900 } });
    }, 60_000);
    afterAll(async () => {
      await session?.close();
    });

    it('the run report: no errors, the charts drawn from metrics.jsonl, the slider steps through the run grids', async () => {
      const { page, errors, external } = await open(session, join(runDir, 'report.html'));
      const epochs = readJsonLines(join(runDir, 'metrics.jsonl')).length;
      expect(epochs).toBe(2);
      const shapes = await charts(page);
      expect(shapes['loss']).toEqual({ 'D loss': epochs, 'G loss': epochs });
      expect(Object.values(shapes['accuracy'] ?? {})).toEqual([epochs, epochs, epochs, epochs]);
      expect(shapes['throughput']).toBeDefined();
      for (const id of ['loss', 'accuracy']) expect(await painted(page, id), id).toBeGreaterThan(1000);

      // The slider shows this run's own grids: the last epoch first, then back to the first.
      const image = page.locator('#sample-image');
      expect(await image.getAttribute('src')).toBe(pngUri(join(runDir, 'samples', 'epoch-0002.png')));
      expect(await page.locator('#sample-label').textContent()).toBe('Epoch 2');
      await page.locator('#sample-slider').focus();
      await page.keyboard.press('Home');
      expect(await image.getAttribute('src')).toBe(pngUri(join(runDir, 'samples', 'epoch-0001.png')));
      expect(await page.locator('#sample-label').textContent()).toBe('Epoch 1');
      expect(await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(8 * 32 + 9 * 2);
      await page.keyboard.press('End');
      await page.locator('#sample-slider').blur();
      expect(await page.locator('.memorisation img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
      expect(await page.locator('header h1').textContent()).toBe('dcgan-fashion-mnist');
      expect(await page.locator('header.top').textContent()).toContain('FINISHED');

      await page.screenshot({ path: join(artifacts, 'cli-report.png'), fullPage: true });
      expect(errors).toEqual([]);
      expect(external).toEqual([]);
      await page.close();
    }, 60_000);

    it('the sweep report: no errors, one curve per trial, the results table, each trial’s last grid', async () => {
      const { page, errors, external } = await open(session, join(sweepDir, 'report.html'));
      const trials = readJsonLines<{ id: string; settings: Record<string, number>; runDir: string }>(join(sweepDir, 'trials.jsonl'));
      expect(trials).toHaveLength(2);
      const shapes = await charts(page);
      for (const key of ['d_loss', 'g_loss']) {
        expect(Object.values(shapes[`sweep-${key}`] ?? {}), key).toEqual([2, 2]);
        expect(await painted(page, `sweep-${key}`), key).toBeGreaterThan(1000);
      }
      const labels = Object.keys(shapes['sweep-d_loss'] ?? {});
      for (const trial of trials) expect(labels.some((l) => l.startsWith(trial.id) && l.includes(`=${trial.settings['loss.options.noise']}`)), trial.id).toBe(true);
      const rows = page.locator('table.results tbody tr');
      expect(await rows.count()).toBe(2);
      const text = (await page.locator('table.results').textContent()) ?? '';
      for (const trial of trials) expect(text).toContain(trial.id);
      const gallery = await page.locator('.gallery img').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).src));
      expect(gallery.sort()).toEqual(trials.map((t) => pngUri(join(t.runDir, 'samples', 'epoch-0002.png'))).sort());

      await page.screenshot({ path: join(artifacts, 'cli-report-sweep.png'), fullPage: true });
      expect(errors).toEqual([]);
      expect(external).toEqual([]);
      await page.close();
    }, 60_000);
  });
});
