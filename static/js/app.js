// Small behaviours without inline script (the Content-Security-Policy allows only same-origin files).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches && el.matches("[data-autosubmit]") && el.form) {
    el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
  }
});
document.addEventListener("click", function (event) {
  var el = event.target.closest ? event.target.closest("[data-copy]") : null;
  if (el && navigator.clipboard) {
    navigator.clipboard.writeText(el.getAttribute("data-copy"));
    el.textContent = el.getAttribute("data-copied-label") || el.textContent;
  }
});

// Charts: drawn by the vendored Chart.js from JSON the page embeds with json_script.
function crmJson(id) {
  var el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}
function crmDrawCharts(root) {
  if (typeof Chart === "undefined") { return; }
  root.querySelectorAll("canvas.chart[data-chart-source]").forEach(function (canvas) {
    if (canvas.dataset.drawn) { return; }
    var data = crmJson(canvas.dataset.chartSource);
    if (!data) { return; }
    canvas.dataset.drawn = "1";
    new Chart(canvas, {
      type: canvas.dataset.chartKind || "line",
      data: { labels: data.labels, datasets: [{ data: data.parcels, backgroundColor: "#0d6efd", borderColor: "#0d6efd" }] },
      options: { animation: false, plugins: { legend: { display: false } }, scales: { x: { ticks: { maxTicksLimit: 8 } } } }
    });
  });
  root.querySelectorAll("canvas.sparkline[data-series-source]").forEach(function (canvas) {
    if (canvas.dataset.drawn) { return; }
    var all = crmJson(canvas.dataset.seriesSource);
    var series = all ? all[canvas.dataset.seriesKey] : null;
    if (!series) { return; }
    canvas.dataset.drawn = "1";
    new Chart(canvas, {
      type: "line",
      data: { labels: series.map(function (_, i) { return i; }), datasets: [{ data: series, borderColor: "#198754", borderWidth: 1.5, pointRadius: 0, fill: false }] },
      options: { animation: false, responsive: false, plugins: { legend: { display: false }, tooltip: { enabled: false } },
                 scales: { x: { display: false }, y: { display: false, beginAtZero: true } } }
    });
  });
}
window.addEventListener("load", function () { crmDrawCharts(document); });

// Pipeline board: drag a card to another column; the move is posted with htmx and the board
// re-rendered by the server (which also refuses moves the stage rules do not allow).
document.addEventListener("dragstart", function (event) {
  var card = event.target.closest ? event.target.closest(".pipeline-card[draggable=true]") : null;
  if (!card) { return; }
  card.classList.add("dragging");
  event.dataTransfer.setData("text/plain", card.dataset.moveUrl);
  event.dataTransfer.effectAllowed = "move";
});
document.addEventListener("dragend", function (event) {
  var card = event.target.closest ? event.target.closest(".pipeline-card") : null;
  if (card) { card.classList.remove("dragging"); }
  document.querySelectorAll(".pipeline-column.drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
});
document.addEventListener("dragover", function (event) {
  var column = event.target.closest ? event.target.closest(".pipeline-column") : null;
  if (!column) { return; }
  event.preventDefault();
  column.classList.add("drop-target");
});
document.addEventListener("dragleave", function (event) {
  var column = event.target.closest ? event.target.closest(".pipeline-column") : null;
  if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
});
document.addEventListener("drop", function (event) {
  var column = event.target.closest ? event.target.closest(".pipeline-column") : null;
  if (!column) { return; }
  event.preventDefault();
  var url = event.dataTransfer.getData("text/plain");
  var board = column.closest("[data-board]");
  if (!url || !window.htmx) { return; }
  htmx.ajax("POST", url, { target: "#pipeline-board", swap: "innerHTML",
    values: { stage: column.dataset.stage, mine: board ? board.dataset.mine : "" } });
});

// Expand / collapse a fragment loaded on demand (a waybill's timeline under a table row): the
// first click loads it with htmx, the next click empties the target instead of asking again.
document.addEventListener("htmx:beforeRequest", function (event) {
  var el = event.detail.elt;
  if (!el || !el.matches || !el.matches("[data-toggle-fragment]")) { return; }
  var target = event.detail.target;
  if (target && target.childElementCount) {
    event.preventDefault();
    target.innerHTML = "";
    el.setAttribute("aria-expanded", "false");
  } else {
    el.setAttribute("aria-expanded", "true");
  }
});

// A header checkbox that ticks or unticks every row: data-check-all="<selector of the boxes>".
document.addEventListener("change", function (event) {
  var all = event.target.closest ? event.target.closest("[data-check-all]") : null;
  if (!all) { return; }
  document.querySelectorAll(all.getAttribute("data-check-all")).forEach(function (box) { box.checked = all.checked; });
});
