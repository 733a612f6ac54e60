// Peak Portal cost pages: draw the charts with Chart.js (static/vendor) from the JSON each page embeds
// next to its canvas (json_script). The tables beside the charts hold the same numbers and are the
// truth: without JavaScript the charts stay hidden and the pages work as they are.
(function () {
  "use strict";

  var COLOURS = ["#0b5cad", "#17803d", "#a15c00", "#7c3aed", "#0e7490", "#be185d", "#4d7c0f", "#9a3412"];
  var KINDS = {
    actual: { borderColor: "#0b5cad", backgroundColor: "rgba(11,92,173,.12)", fill: true, borderWidth: 2 },
    forecast: { borderColor: "#a15c00", backgroundColor: "#a15c00", borderDash: [6, 4], borderWidth: 2, fill: false },
    budget: { borderColor: "#b42318", backgroundColor: "#b42318", borderDash: [2, 3], borderWidth: 2, fill: false,
              pointRadius: 0 }
  };

  function money(currency) {
    var format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD", maximumFractionDigits: 0 });
    return function (value) { return format.format(value); };
  }

  function dataset(spec, index, chartType) {
    var kind = KINDS[spec.kind];
    var colour = COLOURS[index % COLOURS.length];
    var result = {
      label: spec.label,
      data: spec.data,
      type: spec.type || undefined,
      borderColor: colour,
      backgroundColor: colour,
      pointRadius: chartType === "line" ? 0 : undefined,
      spanGaps: false
    };
    if (kind) Object.keys(kind).forEach(function (key) { result[key] = kind[key]; });
    if (spec.kind === "budget" && chartType === "bar") result.order = -1;  // the budget line above the bars
    return result;
  }

  function config(spec) {
    var format = money(spec.currency);
    var stacked = Boolean(spec.stacked);
    return {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (d, i) { return dataset(d, i, spec.type); })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          title: { display: Boolean(spec.title), text: spec.title },
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) { return item.dataset.label + ": " + format(item.parsed.y); }
            }
          }
        },
        scales: {
          x: { stacked: stacked, ticks: { autoSkip: true, maxRotation: 0 } },
          y: { stacked: stacked && spec.type === "bar", beginAtZero: true, ticks: { callback: format } }
        }
      }
    };
  }

  function draw(root) {
    if (typeof window.Chart === "undefined" || !root || !root.querySelectorAll) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) return;
      var spec;
      try { spec = JSON.parse(source.textContent); } catch (error) { return; }
      if (!spec || !spec.labels || !spec.labels.length) return;  // nothing to draw: the table says so
      var figure = canvas.closest("figure");
      if (figure) figure.hidden = false;  // visible before drawing, so Chart.js can measure it
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      new window.Chart(canvas, config(spec));
    });
  }

  function start() {
    draw(document);
    // htmx swaps in new results (a filter, another month): draw the charts that came with them.
    document.body.addEventListener("htmx:afterSettle", function () { draw(document); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
