import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { accuracyChart, lossChart } from './chart-spec';
import { launchChromium, type ChromiumSession } from './chromium';
import { escapeHtml } from './html';
import { renderPage } from './page';
import { chartCard } from './parts';
import { readRun, runName } from './read-run';

/** Options of {@link renderLossPlotPng}. */
export interface LossPlotOptions {
  /** Width of the plot in CSS pixels. @default 1100 */
  readonly width?: number;
  /** Device pixels per CSS pixel (with `session`, the session's own factor applies). @default 2 */
  readonly scale?: number;
  /** Whether the accuracy chart sits beside the loss chart. @default true */
  readonly accuracy?: boolean;
  /** A Chromium already running (its page is closed afterwards, the browser is not). */
  readonly session?: ChromiumSession;
}

/**
 * Draws a run's loss (and accuracy) curves to a PNG for a README: the same
 * Chart.js code the report uses, rendered in headless Chromium and
 * screenshotted. Returns the PNG's absolute path.
 */
export async function renderLossPlotPng(runDir: string, outPng: string, options: LossPlotOptions = {}): Promise<string> {
  const run = await readRun(runDir);
  const width = options.width ?? 1100;
  const charts = [lossChart(run.metrics), ...(options.accuracy === false ? [] : [accuracyChart(run.metrics)])];
  const html = await renderPage({
    title: `${runName(run)} · loss`,
    body: `<div id="plot" style="width:${width}px;padding:12px;background:var(--bg)">
<div style="font-weight:650;font-size:15px;margin:0 4px 8px">${escapeHtml(runName(run))} <span class="note">· ${run.metrics.length} epochs</span></div>
<div style="display:grid;grid-template-columns:repeat(${charts.length},1fr);gap:12px">${charts.map(chartCard).join('')}</div>
</div>`,
    data: { kind: 'plot', charts, samples: [] },
    scripts: ['charts', 'report'],
  });

  const session = options.session ?? (await launchChromium({ viewport: { width: width + 40, height: 600 }, deviceScaleFactor: options.scale ?? 2 }));
  const page = await session.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  try {
    await page.setContent(html, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { duelReportReady?: boolean }).duelReportReady === true, undefined, {
      timeout: 10_000,
    });
    if (errors.length > 0) throw new Error(`the loss plot page reported errors: ${errors.join('; ')}`);
    const out = resolve(outPng);
    await mkdir(dirname(out), { recursive: true });
    await page.locator('#plot').screenshot({ path: out });
    return out;
  } finally {
    await page.close();
    if (options.session === undefined) await session.close();
  }
}
