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
