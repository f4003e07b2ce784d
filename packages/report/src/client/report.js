// Browser side of the report: charts, the sample slider, table sorting.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('duel-data').textContent);
  window.duelCharts = window.duelRenderCharts(data.charts);

  // Sample grids: a range input steps through the embedded epochs.
  var samples = data.samples || [];
  var slider = document.getElementById('sample-slider');
  var image = document.getElementById('sample-image');
  var label = document.getElementById('sample-label');
  var play = document.getElementById('sample-play');
  if (slider && image && samples.length > 0) {
    var show = function (index) {
      var sample = samples[index];
      image.src = sample.src;
      image.alt = 'Generated samples after epoch ' + sample.epoch;
      label.textContent = 'Epoch ' + sample.epoch;
      slider.value = String(index);
    };
    slider.addEventListener('input', function () { show(Number(slider.value)); });
    var timer = null;
    var stop = function () { clearInterval(timer); timer = null; play.textContent = '\u25B6 Play'; };
    if (play) {
      play.addEventListener('click', function () {
        if (timer !== null) return stop();
        if (Number(slider.value) >= samples.length - 1) show(0);
        play.textContent = '\u275A\u275A Pause';
        timer = setInterval(function () {
          var next = Number(slider.value) + 1;
          if (next >= samples.length) return stop();
          show(next);
        }, 400);
      });
    }
    show(samples.length - 1);
  }

  // Tables with class "sortable": click a header to sort by it (numbers as numbers).
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    var headers = table.querySelectorAll('thead th');
    Array.prototype.forEach.call(headers, function (th, column) {
      th.addEventListener('click', function () {
        var ascending = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column] ? a.cells[column].getAttribute('data-sort') || a.cells[column].textContent : '';
          var y = b.cells[column] ? b.cells[column].getAttribute('data-sort') || b.cells[column].textContent : '';
          var nx = Number(x), ny = Number(y);
          var order = x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  window.duelReportReady = true;
})();
