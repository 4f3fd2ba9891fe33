/* The SLA report's chart: attainment per week (lines, percent) and breaches (bars), from #sla-chart-data. */
(function () {
  "use strict";
  if (!window.Chart) { return; }
  var el = document.getElementById("sla-chart-data");
  if (!el) { return; }
  var d = JSON.parse(el.textContent);
  var Chart = window.Chart;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  new Chart(document.getElementById("chart-sla"), {
    data: {
      labels: d.weeks,
      datasets: [
        { type: "line", label: "Acknowledged in time (%)", data: d.ack, borderColor: "#0b57d0",
          backgroundColor: "#0b57d0", yAxisID: "pct", spanGaps: true },
        { type: "line", label: "Resolved in time (%)", data: d.resolve, borderColor: "#7c3aed",
          backgroundColor: "#7c3aed", yAxisID: "pct", spanGaps: true },
        { type: "bar", label: "Breaches", data: d.breaches, backgroundColor: "#b42318", yAxisID: "count" }
      ]
    },
    options: {
      scales: {
        pct: { position: "left", min: 0, max: 100, title: { display: true, text: "%" } },
        count: { position: "right", beginAtZero: true, ticks: { precision: 0 }, grid: { drawOnChartArea: false } }
      }
    }
  });
  document.body.setAttribute("data-charts", "drawn");
}());
