import type { MetricRow } from './read-run';

/** One line of a chart: (epoch, value) points, gaps left out. */
export interface SeriesSpec {
  readonly label: string;
  readonly color: string;
  /** Drawn dashed (a second line of the same colour, or a G-side figure). */
  readonly dashed?: boolean;
  readonly points: readonly (readonly [number, number])[];
}

/**
 * A chart as plain JSON: the browser side (`client/charts.js`) turns it into
 * a Chart.js line chart, the same way in the report and in the README plot.
 */
export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel?: string;
  /** The x range, so every chart of a report spans the same epochs. */
  readonly xMin?: number;
  readonly xMax?: number;
  readonly yMin?: number;
  readonly yMax?: number;
  /** Whether the chart draws its own legend. @default true */
  readonly legend?: boolean;
  readonly series: readonly SeriesSpec[];
}

/** The loss keys every epoch has. */
export const LOSS_KEYS = ['d_loss', 'g_loss'] as const;
/** The accuracy keys every epoch has. */
export const ACCURACY_KEYS = ['d_real_acc', 'd_fake_acc', 'd_acc', 'g_acc'] as const;
/** Keys that are bookkeeping, not curves worth their own chart. */
const BOOKKEEPING = new Set(['epoch', 'step', 'seconds', 'images_per_s']);
/** Sample-quality metrics, charted first in this order. */
const QUALITY = ['fid', 'kid', 'diversity'];
const STANDARD = new Set<string>([...LOSS_KEYS, ...ACCURACY_KEYS, ...BOOKKEEPING]);

const LABELS: Record<string, string> = {
  d_loss: 'D loss',
  g_loss: 'G loss',
  d_real_acc: 'D acc (real)',
  d_fake_acc: 'D acc (fake)',
  d_acc: 'D acc',
  g_acc: 'G acc',
  fid: 'FID',
  kid: 'KID',
  diversity: 'Diversity',
  d_real_mean: 'D(x) mean (real)',
  d_fake_mean: 'D(G(z)) mean (fake)',
  grad_norm_d: '|grad| D',
  grad_norm_g: '|grad| G',
  images_per_s: 'images/s',
};

const COLORS: Record<string, string> = {
  d_loss: '#2563eb',
  g_loss: '#ea580c',
  d_real_acc: '#0891b2',
  d_fake_acc: '#7c3aed',
  d_acc: '#2563eb',
  g_acc: '#ea580c',
};

/** A palette of distinguishable colours, for trials and extra metrics. */
export const PALETTE = [
  '#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d',
];

/** The i-th colour: the palette first, then evenly spread hues. */
export function paletteColor(index: number): string {
  if (index < PALETTE.length) return PALETTE[index]!;
  return `hsl(${Math.round((index * 137.508) % 360)}, 65%, 45%)`;
}

/** A human label for a metric key. */
export function metricLabel(key: string): string {
  return LABELS[key] ?? key;
}

/** The points of one key, epochs without a finite value left out. */
export function seriesPoints(metrics: readonly MetricRow[], key: string): [number, number][] {
  const points: [number, number][] = [];
  for (const row of metrics) {
    const value = row.values[key];
    if (value !== undefined) points.push([row.epoch, value]);
  }
  return points;
}

function series(metrics: readonly MetricRow[], keys: readonly string[]): SeriesSpec[] {
  return keys
    .map((key, index) => ({
      label: metricLabel(key),
      color: COLORS[key] ?? paletteColor(index),
      dashed: key.startsWith('g_') || key.endsWith('_g') || key.includes('fake'),
      points: seriesPoints(metrics, key),
    }))
    .filter((s) => s.points.length > 0);
}

/** The first and last epoch of the metrics, as chart x bounds (none when there are no epochs). */
export function epochRange(metrics: readonly MetricRow[]): { xMin?: number; xMax?: number } {
  const first = metrics[0];
  const last = metrics.at(-1);
  return first && last ? { xMin: first.epoch, xMax: last.epoch } : {};
}

/** The loss chart of a run. */
export function lossChart(metrics: readonly MetricRow[], id = 'loss'): ChartSpec {
  return { id, title: 'Loss', xLabel: 'epoch', ...epochRange(metrics), yLabel: 'loss', series: series(metrics, LOSS_KEYS) };
}

/** The accuracy chart of a run (0 to 1). */
export function accuracyChart(metrics: readonly MetricRow[], id = 'accuracy'): ChartSpec {
  return { id, title: 'Accuracy', xLabel: 'epoch', ...epochRange(metrics), yLabel: 'accuracy', yMin: 0, yMax: 1, series: series(metrics, ACCURACY_KEYS) };
}

/**
 * Keys beyond the standard ones, grouped: a D/G pair (`grad_norm_d` with
 * `grad_norm_g`, `d_x` with `g_x`) or a real/fake pair (`d_real_mean` with
 * `d_fake_mean`) shares a chart; anything else (fid, kid, diversity) gets its own.
 */
export function extraMetricGroups(metrics: readonly MetricRow[]): { stem: string; keys: string[] }[] {
  const keys = new Set<string>();
  for (const row of metrics) for (const key of Object.keys(row.values)) if (!STANDARD.has(key)) keys.add(key);
  const groups = new Map<string, string[]>();
  for (const key of [...keys].sort()) {
    const stem = key.replace(/_(d|g)$/, '').replace(/^(d|g)_/, '').replace(/(^|_)(real|fake)(_|$)/, '$1$3').replace(/^_|_$/g, '');
    const group = groups.get(stem) ?? [];
    group.push(key);
    groups.set(stem, group);
  }
  // Sample-quality figures first (what a reader looks for), then the rest by name.
  const rank = (stem: string) => (QUALITY.indexOf(stem) + QUALITY.length + 1) % (QUALITY.length + 1);
  return [...groups]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([stem, group]) => ({ stem, keys: group.sort((a, b) => sideRank(a) - sideRank(b) || a.localeCompare(b)) }));
}

/** Orders a group's keys: real and D-side first, then fake and G-side, as the colours assume. */
function sideRank(key: string): number {
  return /(^|_)fake(_|$)|^g_|_g$/.test(key) ? 1 : 0;
}

/** One chart per extra metric group. */
export function extraCharts(metrics: readonly MetricRow[]): ChartSpec[] {
  return extraMetricGroups(metrics).map(({ stem, keys }) => ({
    id: `extra-${stem}`,
    title: keys.length === 1 ? metricLabel(keys[0]!) : groupTitle(stem),
    xLabel: 'epoch',
    ...epochRange(metrics),
    series: series(metrics, keys),
  }));
}

/** The throughput chart (images/s per epoch), when the metrics have it. */
export function throughputChart(metrics: readonly MetricRow[]): ChartSpec | undefined {
  const points = seriesPoints(metrics, 'images_per_s');
  if (points.length === 0) return undefined;
  return { id: 'throughput', title: 'Throughput', xLabel: 'epoch', ...epochRange(metrics), yLabel: 'images/s', yMin: 0, series: [{ label: 'images/s', color: '#16a34a', points }] };
}

function groupTitle(stem: string): string {
  const known: Record<string, string> = { mean: 'Discriminator output means', grad_norm: 'Gradient norms', lr: 'Learning rates' };
  return known[stem] ?? stem.replaceAll('_', ' ');
}
