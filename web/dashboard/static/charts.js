/* The list page's charts, drawn from the JSON in #chart-data (the same figures as the table below them). */
(function () {
  "use strict";
  if (!window.Chart) { return; }
  var Chart = window.Chart;
  var COLORS = { opened: "#b42318", resolved: "#17693a", triggered: "#b42318", acknowledged: "#b45309",
                 resolvedStatus: "#17693a", mtta: "#0b57d0", mttr: "#7c3aed" };
  var charts = {};
  Chart.defaults.animation = false;
  Chart.defaults.color = "#374151";
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  Chart.defaults.maintainAspectRatio = false;

  function read() {
    var el = document.getElementById("chart-data");
    return el ? JSON.parse(el.textContent) : null;
  }

  function shortDays(days) { return days.map(function (d) { return d.slice(5); }); }

  function build(d) {
    charts.daily = new Chart(document.getElementById("chart-daily"), {
      type: "bar",
      data: { labels: shortDays(d.days), datasets: [
        { label: "Opened", data: d.opened, backgroundColor: COLORS.opened },
        { label: "Resolved", data: d.resolved, backgroundColor: COLORS.resolved }] },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
    charts.status = new Chart(document.getElementById("chart-status"), {
      type: "doughnut",
      data: { labels: ["triggered", "acknowledged", "resolved"], datasets: [{
        data: [d.status.triggered, d.status.acknowledged, d.status.resolved],
        backgroundColor: [COLORS.triggered, COLORS.acknowledged, COLORS.resolvedStatus] }] },
      options: { plugins: { legend: { position: "right" } } }
    });
    charts.times = new Chart(document.getElementById("chart-times"), {
      type: "line",
      data: { labels: shortDays(d.days), datasets: [
        { label: "MTTA (min)", data: d.mtta_minutes, borderColor: COLORS.mtta, backgroundColor: COLORS.mtta, spanGaps: true },
        { label: "MTTR (min)", data: d.mttr_minutes, borderColor: COLORS.mttr, backgroundColor: COLORS.mttr, spanGaps: true }] },
      options: { scales: { y: { beginAtZero: true } } }
    });
  }

  function update(d) {
    charts.daily.data.labels = shortDays(d.days);
    charts.daily.data.datasets[0].data = d.opened;
    charts.daily.data.datasets[1].data = d.resolved;
    charts.status.data.datasets[0].data = [d.status.triggered, d.status.acknowledged, d.status.resolved];
    charts.times.data.labels = shortDays(d.days);
    charts.times.data.datasets[0].data = d.mtta_minutes;
    charts.times.data.datasets[1].data = d.mttr_minutes;
    Object.keys(charts).forEach(function (k) { charts[k].update(); });
  }

  var data = read();
  if (!data) { return; }
  build(data);
  document.body.setAttribute("data-charts", "drawn");
  document.addEventListener("tocsin:updated", function () { var d = read(); if (d) { update(d); } });
}());
