// Slow or irreversible steps (signing, verification, agreement generation, confirmations):
// a form with data-busy="正在签署…" disables its buttons on submit, against double submission,
// and shows the note with a spinner until the next page arrives. No inline script (CSP).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-busy")) return;
  if (form.dataset.submitted === "1") { event.preventDefault(); return; }
  form.dataset.submitted = "1";
  // Disable after the submit has collected the fields (a disabled button's value is not sent).
  setTimeout(function () {
    form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
      b.disabled = true;
      b.setAttribute("aria-busy", "true");
    });
  }, 0);
  var note = document.createElement("span");
  note.className = "busy-note";
  note.setAttribute("role", "status");
  note.textContent = form.getAttribute("data-busy") || "正在办理…";
  var anchor = form.querySelector("button[type=submit], button:not([type])");
  (anchor && anchor.parentNode ? anchor.parentNode : form).appendChild(note);
});
// The browser's back/forward cache may show a page with its buttons still disabled.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.dataset.submitted = "";
    form.querySelectorAll("button[aria-busy]").forEach(function (b) {
      b.disabled = false;
      b.removeAttribute("aria-busy");
    });
    form.querySelectorAll(".busy-note").forEach(function (n) { n.remove(); });
  });
});
// Phones (issue 15.18): each table cell carries its column's heading, so the stylesheet can
// show rows as cards (标签：值) on narrow screens.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.table").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    if (!heads.length) return;
    table.classList.add("cards-on-phone");
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (cell, i) {
        if (heads[i] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", heads[i]);
      });
    });
  });
});
