import { readFile } from 'node:fs/promises';
import { settingLabel } from '@duel/core';
import { extraMetricGroups, metricLabel, paletteColor, seriesPoints, type ChartSpec } from './chart-spec';
import { formatNumber, formatTime } from './format';
import { escapeHtml, imageDataUri } from './html';
import { renderPage } from './page';
import { chartCard, chip, jsonCard, statusBadge } from './parts';
import { trialLabel, variedSettings, type SweepData, type TrialData } from './read-sweep';

/** Above this many trials the charts drop their own legends for the shared one. */
const CHART_LEGEND_LIMIT = 6;

/** The report of a sweep as a self-contained HTML document. */
export async function renderSweepReport(sweep: SweepData): Promise<string> {
  const varied = variedSettings(sweep.trials);
  const trials = sweep.trials.map((trial, index) => ({ trial, color: paletteColor(index), label: trialLabel(trial, varied) }));
  const charts = overlayCharts(trials);
  const gallery = await Promise.all(
    trials.map(async (t) => {
      const last = t.trial.run?.samples.at(-1);
      return last ? { ...t, epoch: last.epoch, src: imageDataUri(await readFile(last.path), last.path) } : undefined;
    }),
  );

  const statuses = new Map<string, number>();
  for (const { trial } of trials) statuses.set(trial.status ?? 'unknown', (statuses.get(trial.status ?? 'unknown') ?? 0) + 1);
  const chips: [string, string][] = [['trials', String(sweep.trials.length || (sweep.results?.rows.length ?? 0))]];
  for (const [status, count] of statuses) chips.push([status.toLowerCase(), String(count)]);
  if (varied.length > 0) chips.push(['varied', varied.join(', ')]);
  // One badge only when every trial agrees; mixed outcomes show in the chips and the table.
  const sole = statuses.size === 1 ? [...statuses.keys()][0] : undefined;

  const body = `<header class="top"><div class="inner">
<div><div class="kind">duel sweep</div><h1>${escapeHtml(sweep.name)}</h1></div>
${sole !== undefined ? statusBadge(sole) : ''}
<div class="chips">${chips.map(chip).join('')}</div>
</div></header>
<main>
<div class="grid">
${resultsCard(sweep, trials)}
</div>
${trials.length > CHART_LEGEND_LIMIT ? legendCard(trials) : ''}
<div class="grid two">
${charts.map(chartCard).join('\n')}
</div>
${galleryCard(gallery.filter((g) => g !== undefined))}
<div class="grid">
${jsonCard('Sweep definition', 'sweep.json', sweep.sweep)}
</div>
<footer>Sweep directory: ${escapeHtml(sweep.dir)} · report written ${escapeHtml(formatTime(new Date().toISOString()))}</footer>
</main>`;
  return renderPage({ title: `${sweep.name} · duel sweep report`, body, data: { kind: 'sweep', charts, samples: [] }, scripts: ['charts', 'report'] });
}

interface ColoredTrial {
  readonly trial: TrialData;
  readonly color: string;
  readonly label: string;
}

/** One chart per figure, one line per trial in the trial's colour. */
function overlayCharts(trials: readonly ColoredTrial[]): ChartSpec[] {
  const withRuns = trials.filter((t) => t.trial.run !== undefined);
  const extraKeys = [...new Set(withRuns.flatMap((t) => extraMetricGroups(t.trial.run!.metrics).flatMap((g) => g.keys)))];
  const keys = ['d_loss', 'g_loss', 'd_acc', 'g_acc', ...extraKeys];
  const epochs = withRuns.flatMap((t) => t.trial.run!.metrics.map((row) => row.epoch));
  const range = epochs.length === 0 ? {} : { xMin: Math.min(...epochs), xMax: Math.max(...epochs) };
  return keys
    .map((key): ChartSpec => ({
      id: `sweep-${key}`,
      title: `${metricLabel(key)} by trial`,
      xLabel: 'epoch',
      ...range,
      yLabel: metricLabel(key),
      ...(key.endsWith('_acc') ? { yMin: 0, yMax: 1 } : {}),
      legend: trials.length <= CHART_LEGEND_LIMIT,
      series: withRuns
        .map((t) => ({ label: t.label, color: t.color, points: seriesPoints(t.trial.run!.metrics, key) }))
        .filter((s) => s.points.length > 0),
    }))
    .filter((spec) => spec.series.length > 0);
}

function resultsCard(sweep: SweepData, trials: readonly ColoredTrial[]): string {
  const colors = new Map(trials.map((t) => [t.trial.id, t.color]));
  const { header, rows } = sweep.results ?? resultsFromTrials(sweep.trials);
  const idColumn = header.findIndex((h) => ['id', 'trial', 'trial_id'].includes(h.toLowerCase()));
  const statusColumn = header.findIndex((h) => h.toLowerCase() === 'status');
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => isNumeric(row[column] ?? '') || (row[column] ?? '') === ''));
  const head = header.map((h, column) => `<th${numeric[column] ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((row) => {
      const cells = header.map((_, column) => {
        const cell = row[column] ?? '';
        if (column === idColumn) {
          const color = colors.get(cell);
          const swatch = color ? `<span class="swatch" style="background:${escapeHtml(color)}"></span>` : '';
          return `<td data-sort="${escapeHtml(cell)}">${swatch}${escapeHtml(cell)}</td>`;
        }
        if (column === statusColumn && cell !== '') return `<td data-sort="${escapeHtml(cell)}">${statusBadge(cell)}</td>`;
        if (numeric[column] && cell !== '') {
          return `<td class="num" data-sort="${escapeHtml(cell)}" title="${escapeHtml(cell)}">${escapeHtml(formatNumber(Number(cell)))}</td>`;
        }
        // A structured setting (a part, a list of parts) reads by its label; the JSON is in the tooltip.
        const structured = structuredSetting(cell);
        if (structured !== undefined) return `<td title="${escapeHtml(cell)}">${escapeHtml(settingLabel(structured))}</td>`;
        return `<td>${escapeHtml(cell)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const source = sweep.results ? 'results.csv' : 'trials.jsonl';
  return `<section class="card"><h2>Results <span class="sub">${escapeHtml(source)} · click a column to sort</span></h2>
<div class="table-scroll"><table class="sortable results"><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div></section>`;
}

/** A results table when the sweep has no results.csv: id, status, settings, summary figures. */
function resultsFromTrials(trials: readonly TrialData[]): { header: string[]; rows: string[][] } {
  const settings = [...new Set(trials.flatMap((t) => Object.keys(t.settings)))];
  const metrics = [...new Set(trials.flatMap((t) => Object.keys(t.metrics)))];
  const text = (value: unknown) => (value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));
  return {
    header: ['id', 'status', ...settings, ...metrics],
    rows: trials.map((t) => [t.id, t.status ?? '', ...settings.map((s) => text(t.settings[s])), ...metrics.map((m) => text(t.metrics[m]))]),
  };
}

function isNumeric(cell: string): boolean {
  return cell.trim() !== '' && Number.isFinite(Number(cell));
}

function legendCard(trials: readonly ColoredTrial[]): string {
  const items = trials
    .map((t) => `<span class="chip legend-chip"><span class="swatch" style="background:${escapeHtml(t.color)}"></span>${escapeHtml(t.label)}</span>`)
    .join('');
  return `<div class="grid"><section class="card"><h2>Trials</h2><div class="chips">${items}</div></section></div>`;
}

function galleryCard(items: readonly (ColoredTrial & { epoch: number; src: string })[]): string {
  if (items.length === 0) return '';
  const figures = items
    .map(
      (g) => `<figure><img src="${g.src}" alt="${escapeHtml(`Samples of trial ${g.trial.id} after epoch ${g.epoch}`)}">
<figcaption><span class="swatch" style="background:${escapeHtml(g.color)}"></span><b>${escapeHtml(g.label)}</b> · epoch ${g.epoch}${g.trial.status ? ` · ${escapeHtml(g.trial.status)}` : ''}</figcaption></figure>`,
    )
    .join('\n');
  return `<div class="grid"><section class="card"><h2>Last samples <span class="sub">final grid of each trial</span></h2><div class="gallery">
${figures}
</div></section></div>`;
}

/** The value of a results.csv cell that holds JSON (a part or a list), else undefined. */
function structuredSetting(cell: string): unknown {
  if (!/^[[{]/.test(cell)) return undefined;
  try {
    return JSON.parse(cell) as unknown;
  } catch {
    return undefined;
  }
}
