// Browser side of the report: turns ChartSpec JSON (see ../chart-spec.ts) into
// Chart.js line charts. The report and the README loss plot both call this,
// so the PNG shows exactly what the report shows.
(function () {
  'use strict';

  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#475569';
  Chart.defaults.borderColor = '#e2e8f0';

  function dataset(series, pointCount) {
    return {
      label: series.label,
      data: series.points.map(function (p) { return { x: p[0], y: p[1] }; }),
      borderColor: series.color,
      backgroundColor: series.color,
      borderDash: series.dashed ? [6, 4] : [],
      borderWidth: 2,
      // Points help on a short run and clutter a long one.
      pointRadius: pointCount <= 30 ? 2.5 : 0,
      pointHoverRadius: 4,
      tension: 0,
      spanGaps: true,
    };
  }

  function config(spec) {
    var pointCount = 0;
    spec.series.forEach(function (s) { pointCount = Math.max(pointCount, s.points.length); });
    return {
      type: 'line',
      data: { datasets: spec.series.map(function (s) { return dataset(s, pointCount); }) },
      options: {
        // No animation: the chart is complete as soon as it is built (screenshots, tests).
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: {
            type: 'linear',
            title: { display: true, text: spec.xLabel },
            min: spec.xMin === undefined ? undefined : spec.xMin,
            max: spec.xMax === undefined ? undefined : spec.xMax,
            ticks: { precision: 0 },
            grid: { display: false },
          },
          y: {
            title: { display: Boolean(spec.yLabel), text: spec.yLabel || '' },
            min: spec.yMin === undefined ? undefined : spec.yMin,
            max: spec.yMax === undefined ? undefined : spec.yMax,
          },
        },
        plugins: {
          legend: {
            display: spec.legend !== false,
            position: 'bottom',
            labels: { boxWidth: 18, boxHeight: 2, padding: 10 },
          },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? 'epoch ' + items[0].parsed.x : ''; },
              label: function (item) { return item.dataset.label + ': ' + formatNumber(item.parsed.y); },
            },
          },
        },
      },
    };
  }

  function formatNumber(value) {
    if (!isFinite(value)) return String(value);
    var abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return Number(value.toPrecision(4)).toExponential();
    return String(Number(value.toPrecision(4)));
  }

  /** Builds every chart whose canvas is on the page; returns them by id. */
  function renderCharts(specs) {
    var charts = {};
    specs.forEach(function (spec) {
      var canvas = document.querySelector('canvas[data-chart="' + CSS.escape(spec.id) + '"]');
      if (canvas) charts[spec.id] = new Chart(canvas, config(spec));
    });
    return charts;
  }

  window.duelRenderCharts = renderCharts;
  window.duelFormatNumber = formatNumber;
})();
