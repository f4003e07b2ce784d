import { describe, expect, it } from 'vitest';
import { accuracyChart, extraCharts, extraMetricGroups, lossChart, paletteColor, throughputChart } from './chart-spec';
import type { MetricRow } from './read-run';

const rows: MetricRow[] = [1, 2, 3, 4].map((epoch) => ({
  epoch,
  values: {
    epoch,
    step: epoch * 10,
    d_loss: 0.7,
    g_loss: 1.2,
    d_real_acc: 0.8,
    d_fake_acc: 0.7,
    d_acc: 0.75,
    g_acc: 0.3,
    images_per_s: 500,
    seconds: 2,
    grad_norm_g: 3,
    grad_norm_d: 2,
    d_fake_mean: 0.3,
    d_real_mean: 0.6,
    ...(epoch % 2 === 0 ? { fid: 100 / epoch } : {}),
  },
}));

describe('run charts', () => {
  it('draws the loss and accuracy keys over the whole epoch range', () => {
    const loss = lossChart(rows);
    expect(loss.series.map((s) => s.label)).toEqual(['D loss', 'G loss']);
    expect(loss.series[0]!.points).toEqual([[1, 0.7], [2, 0.7], [3, 0.7], [4, 0.7]]);
    expect([loss.xMin, loss.xMax]).toEqual([1, 4]);
    const accuracy = accuracyChart(rows);
    expect(accuracy.series.map((s) => s.label)).toEqual(['D acc (real)', 'D acc (fake)', 'D acc', 'G acc']);
    expect([accuracy.yMin, accuracy.yMax]).toEqual([0, 1]);
  });

  it('groups D/G and real/fake pairs, D and real first, and leaves gaps out', () => {
    expect(extraMetricGroups(rows)).toEqual([
      { stem: 'fid', keys: ['fid'] },
      { stem: 'grad_norm', keys: ['grad_norm_d', 'grad_norm_g'] },
      { stem: 'mean', keys: ['d_real_mean', 'd_fake_mean'] },
    ]);
    const fid = extraCharts(rows).find((c) => c.id === 'extra-fid')!;
    expect(fid.series[0]!.points).toEqual([[2, 50], [4, 25]]);
    expect(extraCharts(rows).find((c) => c.id === 'extra-grad_norm')!.title).toBe('Gradient norms');
  });

  it('has no extra charts for the standard keys alone, and a throughput chart', () => {
    const plain = rows.map((r) => ({ epoch: r.epoch, values: { epoch: r.epoch, d_loss: 1, images_per_s: 10 } }));
    expect(extraCharts(plain)).toEqual([]);
    expect(throughputChart(plain)!.series[0]!.points).toHaveLength(4);
    expect(throughputChart([{ epoch: 1, values: { epoch: 1 } }])).toBeUndefined();
  });

  it('gives distinct colours well past the palette', () => {
    expect(new Set(Array.from({ length: 30 }, (_, i) => paletteColor(i))).size).toBe(30);
  });
});
