// The dashboards page: each <canvas class="dashboard-chart" data-url="…"> is filled from its JSON
// endpoint (reports.api.views.ChartView) and the table under it gets the same rows, so the figures
// are readable without the chart. No inline script (CSP): everything comes from data- attributes.
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d", "#d63384",
                 "#0dcaf0", "#ffc107"];

  function number(value) {
    if (value === null || value === undefined || value === "") { return null; }
    var parsed = Number(value);
    return isNaN(parsed) ? null : parsed;
  }

  function labelOf(columns, key) {
    for (var i = 0; i < columns.length; i++) { if (columns[i].key === key) { return columns[i].label; } }
    return key;
  }

  function uniq(values) {
    var seen = {}, out = [];
    values.forEach(function (v) { if (!seen.hasOwnProperty(v)) { seen[v] = true; out.push(v); } });
    return out;
  }

  function datasets(data) {
    var plot = data.plot, rows = data.rows;
    var xs = uniq(rows.map(function (r) { return String(r[plot.x]); }));
    if (plot.x === "month") { xs.sort(); }
    var sets = [];
    if (plot.group) {
      var groups = uniq(rows.map(function (r) { return String(r[plot.group]); }));
      groups.forEach(function (group, i) {
        var byX = {};
        rows.forEach(function (r) { if (String(r[plot.group]) === group) { byX[String(r[plot.x])] = r[plot.y[0]]; } });
        sets.push({label: group, data: xs.map(function (x) { return number(byX[x]); }),
                   borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length],
                   spanGaps: true});
      });
    } else {
      plot.y.forEach(function (key, i) {
        var byX = {};
        rows.forEach(function (r) { byX[String(r[plot.x])] = r[key]; });
        sets.push({label: labelOf(data.columns, key), data: xs.map(function (x) { return number(byX[x]); }),
                   borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length],
                   spanGaps: true});
      });
    }
    return {labels: xs, datasets: sets};
  }

  function fillTable(table, data) {
    var head = table.querySelector("thead"), body = table.querySelector("tbody");
    head.textContent = "";
    body.textContent = "";
    var tr = document.createElement("tr");
    data.columns.forEach(function (c) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = c.label;
      tr.appendChild(th);
    });
    head.appendChild(tr);
    data.rows.forEach(function (row) {
      var line = document.createElement("tr");
      data.columns.forEach(function (c) {
        var td = document.createElement("td");
        var value = row[c.key];
        td.textContent = value === null || value === undefined ? "—" : String(value);
        line.appendChild(td);
      });
      body.appendChild(line);
    });
  }

  function draw(canvas) {
    var section = canvas.closest(".dashboard-section");
    var status = section.querySelector(".dashboard-status");
    var table = section.querySelector(".dashboard-table");
    fetch(canvas.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        fillTable(table, data);
        status.textContent = data.rows.length ? "" : status.dataset.empty;
        status.hidden = data.rows.length > 0;
        var plot = data.plot;
        var stacked = !!plot.stacked;
        canvas.chart = new window.Chart(canvas, {
          type: plot.type,
          data: datasets(data),
          options: {
            responsive: true, maintainAspectRatio: false, animation: false,
            scales: {x: {stacked: stacked}, y: {stacked: stacked, beginAtZero: true}},
            plugins: {legend: {position: "bottom"}}
          }
        });
        canvas.dataset.rendered = "true";
      })
      .catch(function () {
        status.textContent = status.dataset.failed;
        status.hidden = false;
        canvas.dataset.rendered = "failed";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas.dashboard-chart[data-url]").forEach(draw);
  });
})();
