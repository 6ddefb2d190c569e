// Agent console and ticket page behaviours (no inline script: the CSP allows same-origin files only).
(function () {
  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-table .queue-row")); }
  var current = -1;
  function select(i, keepFocus) {
    var list = rows();
    if (!list.length) { current = -1; return; }
    current = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (r, n) { r.classList.toggle("table-active", n === current); });
    if (!keepFocus) { list[current].focus(); }
  }
  // The queue refreshes itself every 30 s (htmx): keep the selected row selected.
  document.addEventListener("htmx:afterSwap", function () { if (current >= 0) { select(current, true); } });
  document.addEventListener("keydown", function (event) {
    // Modified keys are the browser's (Ctrl+Enter in the reply box is handled below); typing is the agent's.
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) { return; }
    var list = rows();
    if (event.key === "j") { select(current + 1); event.preventDefault(); }
    else if (event.key === "k") { select(current - 1); event.preventDefault(); }
    else if (event.key === "Enter" && current >= 0 && list[current]) { window.location = list[current].dataset.href; }
    else if (event.key === "c") { var call = document.getElementById("take-call"); if (call) { window.location = call.href; } }
    else if (/^[1-5]$/.test(event.key)) {
      var tab = document.querySelector('#queue-tabs [data-key="' + event.key + '"]');
      if (tab) { window.location = tab.href; }
    }
    else if (event.key === "r") { var box = document.getElementById("id_reply-body"); if (box) { box.focus(); event.preventDefault(); } }
    else if (event.key === "/") { var q = document.getElementById("id_q"); if (q) { q.focus(); event.preventDefault(); } }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "id_reply-body") {
      event.target.form.requestSubmit ? event.target.form.requestSubmit() : event.target.form.submit();
    }
  });
  document.addEventListener("click", function (event) {
    var row = event.target.closest ? event.target.closest(".queue-row") : null;
    if (row && !event.target.closest("a")) { window.location = row.dataset.href; }
  });
  // Macro picker: load the macro's text (variables filled in) into the reply box.
  document.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.matches || !picker.matches("#macro-picker")) { return; }
    var box = document.getElementById("id_reply-body");
    var hidden = document.getElementById("id_reply-macro_id");
    if (!picker.value) { if (hidden) { hidden.value = ""; } return; }
    fetch(picker.dataset.url + "?macro=" + encodeURIComponent(picker.value), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) { if (box) { box.value = text; box.focus(); } if (hidden) { hidden.value = picker.value; } });
  });
})();
