// Paydesk's small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // "/" focuses the search box, as on most tools people use all day.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    var s = document.querySelector("[data-search]");
    if (s) { e.preventDefault(); s.focus(); s.select(); }
  });
  // Copy-to-clipboard buttons: data-copy holds the text.
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("[data-copy]") : null;
    if (!b) return;
    e.preventDefault();
    var text = b.getAttribute("data-copy");
    var done = function () { var old = b.textContent; b.textContent = "Copied"; setTimeout(function () { b.textContent = old; }, 1500); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else { fallback(text); done(); }
  });
  function fallback(text) {
    var ta = document.createElement("textarea");
    ta.value = text; document.body.appendChild(ta); ta.select();
    try { document.execCommand("copy"); } catch (_) { /* nothing more to try */ }
    document.body.removeChild(ta);
  }
  // Forms that move money: disable the button and show progress on submit, against double
  // submission (the server refuses a second submission anyway, by idempotency key).
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.matches || !f.matches("form[data-busy]")) return;
    if (f.classList.contains("busy")) { e.preventDefault(); return; }
    f.classList.add("busy");
    f.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) { b.disabled = true; });
  });
  // Filter forms leave empty fields out of the URL, so a pasted link stays short.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.matches || !f.matches("form[method=get]")) return;
    f.querySelectorAll("input, select").forEach(function (el) {
      if (el.name && !el.value) el.disabled = true;
    });
  });
  // Relative times next to exact ones: <time datetime="…" data-relative>.
  function rel(iso) {
    var d = (Date.now() - Date.parse(iso)) / 1000;
    var fut = d < 0; d = Math.abs(d);
    var units = [[60, "second", 1], [3600, "minute", 60], [86400, "hour", 3600], [2592000, "day", 86400], [31536000, "month", 2592000], [Infinity, "year", 31536000]];
    for (var i = 0; i < units.length; i++) {
      if (d < units[i][0]) {
        var n = Math.max(1, Math.floor(d / units[i][2]));
        var s = n + " " + units[i][1] + (n === 1 ? "" : "s");
        return fut ? "in " + s : s + " ago";
      }
    }
    return "";
  }
  document.querySelectorAll("time[data-relative]").forEach(function (t) {
    var r = rel(t.getAttribute("datetime"));
    if (r) { var span = document.createElement("span"); span.className = "muted"; span.textContent = " (" + r + ")"; t.after(span); }
  });
})();
