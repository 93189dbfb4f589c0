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
    // "Back without doing anything" would leave while the provider answers: not now.
    f.querySelectorAll("a.back").forEach(function (a) { a.setAttribute("aria-disabled", "true"); a.setAttribute("tabindex", "-1"); });
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("form.busy a.back") : null;
    if (a) e.preventDefault();
  });
  // Filter forms leave empty fields out of the URL, so a pasted link stays short.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.matches || !f.matches("form[method=get]")) return;
    f.querySelectorAll("input, select").forEach(function (el) {
      if (el.name && !el.value) el.disabled = true;
    });
  });
  // The refund form says which approval rule applies before it is sent: when the amount
  // or the reason changes, ask the server again (GET data-refund-rules, a small HTML
  // fragment) and show its answer. The server decides anyway when the form is sent.
  document.querySelectorAll("form[data-refund-rules]").forEach(function (f) {
    var url = f.getAttribute("data-refund-rules"), box = document.getElementById("refund-rule-box");
    if (!url || !box || !window.fetch) return;
    var timer = null, seq = 0;
    var ask = function () {
      var amount = f.querySelector("[name=amount]"), reason = f.querySelector("[name=reason]");
      var q = "?amount=" + encodeURIComponent(amount ? amount.value : "") + "&reason=" + encodeURIComponent(reason ? reason.value : "");
      var mine = ++seq;
      fetch(url + q, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html !== null && mine === seq) {
          box.innerHTML = html; box.setAttribute("data-updated", String(mine));
          // The button says the amount the server read ("Refund 100.50 EUR"), or only its verb.
          var b = f.querySelector("[data-amount-button]"), a = box.querySelector("[data-refund-amount]");
          if (b) b.textContent = b.getAttribute("data-amount-button") + (a ? " " + a.getAttribute("data-refund-amount") : "");
        }
      }, function () { /* the preview stays as it was; the server decides anyway */ });
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(ask, 250); };
    f.addEventListener("input", function (e) { if (e.target.name === "amount") later(); });
    f.addEventListener("change", function (e) { if (e.target.name === "reason" || e.target.name === "amount") later(); });
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
  // Live payer links (docs/states.md, payer link): while a link is live, [data-poll]
  // names a small fragment the page asks for every few seconds; when the fragment's
  // data-poll-key differs from the page's, the payer's answer (or a new link) has come:
  // the page reads itself again and swaps its main content, without a reload. It stops
  // when no link is live, on any error (a sign-in that ended included), and after 20
  // minutes, so a forgotten tab does not keep a sign-in alive: reload to follow longer.
  function pollLinks(el) {
    var url = el.getAttribute("data-poll"), key = el.getAttribute("data-poll-key");
    if (!url || !window.fetch || !window.DOMParser) return;
    var every = +el.getAttribute("data-poll-every") || 4000, until = Date.now() + 20 * 60 * 1000;
    var read = function (u) {
      return fetch(u, { credentials: "same-origin", redirect: "error", headers: { "Accept": "text/html" } }).then(function (r) { return r.ok ? r.text() : null; });
    };
    var parse = function (html) { return new DOMParser().parseFromString(html, "text/html"); };
    var tick = function () {
      if (!document.body.contains(el)) return;
      if (Date.now() > until) { el.setAttribute("data-poll-stopped", "time"); return; }
      if (document.hidden) { setTimeout(tick, every); return; }
      read(url).then(function (html) {
        var next = html && parse(html).querySelector("[data-poll-key]");
        if (!next) return;
        if (next.getAttribute("data-poll-key") === key) { setTimeout(tick, every); return; }
        return read(location.href).then(function (page) {
          var main = page && parse(page).getElementById("main"), here = document.getElementById("main");
          if (main && here) {
            here.innerHTML = main.innerHTML;
            here.querySelectorAll("time[data-relative]").forEach(function (t) {
              var r = rel(t.getAttribute("datetime"));
              if (r) { var span = document.createElement("span"); span.className = "muted"; span.textContent = " (" + r + ")"; t.after(span); }
            });
            here.querySelectorAll("[data-poll]").forEach(pollLinks);
          } else {
            var fresh = document.importNode(next, true);
            el.replaceWith(fresh);
            if (fresh.hasAttribute("data-poll")) pollLinks(fresh);
          }
        });
      }).catch(function () { el.setAttribute("data-poll-stopped", "error"); });
    };
    setTimeout(tick, every);
  }
  document.querySelectorAll("[data-poll]").forEach(pollLinks);
})();
