// Knowledge-base suggestions on the ticket page: "insert into reply" appends the article's title
// and text to the reply box and records the article's id in the reply form's hidden
// `reply-kb_articles` field (counted as usage when the reply is sent). No inline script: the CSP
// allows same-origin files only.
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-kb-insert]") : null;
    if (!button) { return; }
    event.preventDefault();
    var form = document.getElementById("reply-form");
    var box = form ? form.querySelector('textarea[name="reply-body"]') : null;
    var ids = form ? form.querySelector('input[name="reply-kb_articles"]') : null;
    if (!box) { return; }
    var text = button.getAttribute("data-kb-insert-text") || "";
    box.value = (box.value.replace(/\s+$/, "") ? box.value.replace(/\s+$/, "") + "\n\n" : "") + text;
    box.focus();
    if (ids) {
      var id = button.getAttribute("data-kb-insert");
      var list = ids.value ? ids.value.split(",").filter(function (x) { return x; }) : [];
      if (list.indexOf(id) === -1) { list.push(id); }
      ids.value = list.join(",");
    }
    button.classList.remove("btn-outline-primary");
    button.classList.add("btn-success");
  });
})();
