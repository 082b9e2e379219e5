// sfmcwatch dashboard: draws the [data-chart] timelines with uPlot. Pages
// work without this file: every chart has its totals in a table next to it.
(function () {
  "use strict";
  var colors = { auth: "#8250df", client: "#9a6700", rate_limit: "#bc4c00", server: "#cf222e", timeout: "#0969da", recipient: "#57606a" };
  // Line styles match the legend (render.go dashNames): colour is never the only cue.
  var dashes = [[], [10, 5], [2, 4], [8, 3, 2, 3], [16, 6], [1, 3], []];
  var widths = [2, 2, 2.5, 2, 3, 2.5, 4];

  function draw(el) {
    if (el.dataset.drawn || typeof uPlot === "undefined") return;
    var tl;
    try { tl = JSON.parse(el.dataset.chart); } catch (e) { return; }
    if (!tl || !tl.series || !tl.series.length) return;
    el.dataset.drawn = "1";
    var data = [tl.times];
    var series = [{}];
    tl.series.forEach(function (s, i) {
      data.push(s.values);
      series.push({
        label: s.name, stroke: colors[s.name] || "#333", width: widths[i % widths.length],
        dash: dashes[i % dashes.length], points: { show: false }
      });
    });
    var opts = {
      width: Math.max(320, el.clientWidth || 800), height: 260, series: series,
      scales: { x: { time: true } }, axes: [{}, { label: "events", size: 60 }],
      legend: { live: true }, cursor: { drag: { x: true, y: false } }
    };
    new uPlot(opts, data, el);
  }

  function init(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
})();
