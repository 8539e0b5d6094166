// Gatehouse's own browser behaviour. Our CSP forbids inline scripts, so every
// bit of page behaviour lives here. Vanilla JS, no framework; every page works
// without it (the server renders a readable fallback for each feature).
//
// 1. Countdowns: an element with data-countdown-to="<RFC 3339 time>" shows the
//    time left, updated every second: "1d 02h 03m 04s", "1h 02m 03s",
//    "2m 03s" or "45s" (leading zero units are left out), then "expired" at 0.
//    It gets the class "expired" and fires a bubbling "gatehouse:expired"
//    event once (usable as an htmx trigger: hx-trigger="gatehouse:expired").
// 2. Times: <time datetime="<RFC 3339>" data-relative> is rewritten to one
//    relative line ("3 min ago", "in 8 h"; the local date past a week); its
//    title (shown on hover) holds the full local and UTC time. Refreshed
//    every 30 s.
// 3. Confirmation: a form (or its submit button) with data-confirm="text" asks
//    window.confirm(text) before it is submitted, for plain and htmx forms.
// 4. Live views: an element with data-live-poll="<url>" is kept current by
//    htmx's SSE extension; when EventSource is missing, or while its stream
//    is failing (htmx:sseError until htmx:sseOpen), the element is refreshed
//    from that URL every 5 s instead (an htmx request targeting it).
//    A stream that says its login ended ("signed-out") is closed and the
//    page says "You are signed out" instead of reconnecting; streams are
//    closed when the page is hidden (see pagehide below).
// 5. Address: a page rendered as the answer to a POST may carry
//    <body data-replace-url="/path">; the address bar then shows that path
//    (history.replaceState), so a reload is a plain GET of it instead of
//    re-sending the form (e.g. starting another session).
//
// Content swapped in by htmx is handled on htmx:load / htmx:afterSettle.
(function () {
  "use strict";

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // formatRemaining turns milliseconds into "1h 02m 03s" style text.
  function formatRemaining(ms) {
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400);
    var h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    if (d > 0) return d + "d " + pad(h) + "h " + pad(m) + "m " + pad(sec) + "s";
    if (h > 0) return h + "h " + pad(m) + "m " + pad(sec) + "s";
    if (m > 0) return m + "m " + pad(sec) + "s";
    return sec + "s";
  }

  // all returns the elements under root (root included) matching sel.
  function all(root, sel) {
    var els = Array.prototype.slice.call(root.querySelectorAll(sel));
    if (root.matches && root.matches(sel)) els.unshift(root);
    return els;
  }

  function updateCountdowns(root) {
    var now = Date.now();
    var els = all(root, "[data-countdown-to]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var end = Date.parse(el.getAttribute("data-countdown-to"));
      if (isNaN(end)) continue; // keep the server's text
      var left = end - now;
      if (left <= 0) {
        if (el.textContent !== "expired") el.textContent = "expired";
        if (!el.classList.contains("expired")) {
          el.classList.add("expired");
          el.dispatchEvent(new CustomEvent("gatehouse:expired", { bubbles: true }));
        }
        continue;
      }
      el.classList.remove("expired");
      var text = formatRemaining(left);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  var UNITS = [
    [60, "min", "min"],
    [24, "h", "h"],
    [30, "day", "days"],
    [12, "month", "months"],
    [Infinity, "year", "years"],
  ];

  // relative turns a time difference into "3 min ago" / "in 2 h" / "just now".
  function relative(ms) {
    var future = ms > 0;
    var v = Math.abs(ms) / 1000;
    if (v < 45) return "just now";
    v = v / 60; // minutes, then hours, days, …
    var i = 0;
    while (v >= UNITS[i][0]) v = v / UNITS[i++][0];
    var n = Math.max(1, Math.round(v));
    var label = n === 1 ? UNITS[i][1] : UNITS[i][2];
    return future ? "in " + n + " " + label : n + " " + label + " ago";
  }

  var localFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

  function updateTimes(root) {
    var now = Date.now();
    var els = all(root, "time[datetime][data-relative]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var t = Date.parse(el.getAttribute("datetime"));
      if (isNaN(t)) continue;
      var date = new Date(t);
      // One line: relative ("3 min ago"); beyond a week, the local date.
      var text = Math.abs(t - now) < 7 * 86400000 ? relative(t - now) : localFmt.format(date);
      if (el.textContent !== text) el.textContent = text;
      var title = fullFmt.format(date) + " (" + date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") + ")";
      if (el.title !== title) el.title = title;
    }
  }

  function refresh(root) {
    updateCountdowns(root);
    updateTimes(root);
  }

  // Confirmation runs in the capture phase, before htmx's own submit listener,
  // so a cancelled confirm stops both the plain submit and the htmx request.
  document.addEventListener(
    "submit",
    function (e) {
      var form = e.target;
      if (!(form instanceof HTMLFormElement)) return;
      var btn = e.submitter;
      var text = (btn && btn.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (text && !window.confirm(text)) {
        e.preventDefault();
        e.stopPropagation();
      }
    },
    true
  );

  document.addEventListener("htmx:load", function (e) {
    refresh(e.target);
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    refresh(e.target);
  });

  var POLL_MS = 5000;
  // pull fetches a fresh copy of a live view from its data-live-poll URL.
  function pull(el) {
    if (window.htmx) window.htmx.ajax("GET", el.getAttribute("data-live-poll"), { target: el, swap: "innerHTML" });
  }
  function livePoll(el) {
    if (el._ghPoll) return;
    el._ghPoll = setInterval(function () {
      if (!document.body.contains(el)) {
        clearInterval(el._ghPoll);
        return;
      }
      pull(el);
    }, POLL_MS);
  }
  function liveStopPoll(el) {
    if (el._ghPoll) {
      clearInterval(el._ghPoll);
      el._ghPoll = null;
    }
  }
  document.addEventListener("htmx:sseError", function (e) {
    all(e.target, "[data-live-poll]").forEach(livePoll);
  });
  // An open stream stops the polling. A stream whose login has ended says
  // so last (event "signed-out"): the page closes it instead of
  // reconnecting, and says so once.
  document.addEventListener("htmx:sseOpen", function (e) {
    all(e.target, "[data-live-poll]").forEach(liveStopPoll);
    var source = e.detail && e.detail.source;
    if (!source || source._ghSignedOut) return;
    source._ghSignedOut = true;
    source.addEventListener("signed-out", function () {
      source.close();
      signedOutNotice();
    });
  });
  function signedOutNotice() {
    var main = document.querySelector("main");
    if (!main || document.querySelector("[data-testid=signed-out]")) return;
    var div = document.createElement("div");
    div.className = "alert alert-info";
    div.setAttribute("role", "status");
    div.setAttribute("data-testid", "signed-out");
    div.appendChild(document.createTextNode("You are signed out; this page no longer updates. "));
    var a = document.createElement("a");
    a.href = "/login";
    a.textContent = "Sign in again";
    div.appendChild(a);
    main.insertBefore(div, main.firstChild);
  }

  // A page left for another keeps its event streams open while the browser
  // holds it in the back/forward cache; a few such pages use up the six
  // connections a browser allows per host over HTTP/1.1, and the next page
  // never loads. Streams are closed when the page is hidden; a page shown
  // again from that cache is reloaded, so it is current and live again.
  window.addEventListener("pagehide", function () {
    closeStreams();
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted && document.querySelector("[sse-connect]")) location.reload();
  });

  // Tabs in the background hold no streams either: hidden for HIDDEN_MS, a
  // tab closes its streams (a few background tabs would use up the six
  // connections); shown again, it opens them anew and fetches a fresh copy
  // of each live view (what changed meanwhile was not streamed to it).
  // (window.gatehouseHiddenMs overrides the wait, for tests.)
  var HIDDEN_MS = 10000;
  var hiddenTimer = null;
  var closedWhileHidden = false;
  function closeStreams() {
    var n = 0;
    all(document, "[sse-connect]").forEach(function (el) {
      var data = el["htmx-internal-data"];
      if (data && data.sseEventSource && data.sseEventSource.readyState !== 2) {
        data.sseEventSource.close();
        n++;
      }
    });
    return n;
  }
  function reopenStreams() {
    if (!window.htmx) return;
    all(document, "[sse-connect]").forEach(function (el) {
      var fresh = el.cloneNode(true);
      el.parentNode.replaceChild(fresh, el);
      window.htmx.process(fresh);
      all(fresh, "[data-live-poll]").forEach(pull);
    });
  }
  document.addEventListener("visibilitychange", function () {
    clearTimeout(hiddenTimer);
    if (document.hidden) {
      hiddenTimer = setTimeout(function () {
        closedWhileHidden = closeStreams() > 0 || closedWhileHidden;
      }, window.gatehouseHiddenMs || HIDDEN_MS);
      return;
    }
    if (closedWhileHidden) {
      closedWhileHidden = false;
      reopenStreams();
    }
  });

  function start() {
    var replace = document.body && document.body.getAttribute("data-replace-url");
    if (replace && replace.charAt(0) === "/" && window.history && history.replaceState) {
      history.replaceState(null, "", replace);
    }
    refresh(document);
    if (!window.EventSource) all(document, "[data-live-poll]").forEach(livePoll);
    var ticks = 0;
    setInterval(function () {
      updateCountdowns(document);
      if (++ticks % 30 === 0) updateTimes(document);
    }, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// 6. Copy: a button with data-copy="<id>" copies the text of #id to the
//    clipboard (navigator.clipboard, else a selection and execCommand) and
//    shows "Copied" for two seconds, announced through a polite live region.
// 7. In flight: a submitted form's submit buttons are disabled and marked
//    aria-busy (a spinner in CSS) until its htmx request ends, or for a plain
//    form until the next page; a double click sends one request.
(function () {
  "use strict";

  var status;
  function announce(text) {
    if (!status) {
      status = document.createElement("div");
      status.className = "sr-only";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      document.body.appendChild(status);
    }
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 50);
  }

  function fallbackCopy(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    return ok;
  }

  function copied(btn, ok) {
    var label = btn.getAttribute("data-label") || btn.textContent;
    btn.setAttribute("data-label", label);
    btn.textContent = ok ? "Copied" : "Select and copy";
    btn.classList.toggle("copied", ok);
    announce(ok ? "Copied to the clipboard" : "Copy failed: select the text and copy it");
    setTimeout(function () {
      btn.textContent = label;
      btn.classList.remove("copied");
    }, 2000);
  }

  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("button[data-copy]");
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-copy"));
    if (!el) return;
    var text = el.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { copied(btn, true); },
        function () { copied(btn, fallbackCopy(el)); }
      );
    } else {
      copied(btn, fallbackCopy(el));
    }
  });

  function busy(form, on) {
    var btns = form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
    for (var i = 0; i < btns.length; i++) {
      if (on) {
        btns[i].disabled = true;
        btns[i].setAttribute("aria-busy", "true");
      } else {
        btns[i].disabled = false;
        btns[i].removeAttribute("aria-busy");
      }
    }
  }

  // Plain forms: after the browser has read the form (the submitter's value
  // included), so disabling cannot drop it. GET forms (filters, search)
  // stay usable.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || e.defaultPrevented) return;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return;
    if (form.hasAttribute("hx-post")) return; // htmx: below
    setTimeout(function () { busy(form, true); }, 0);
  });
  // Back/forward cache: a page shown again has its buttons back.
  window.addEventListener("pageshow", function () {
    var forms = document.querySelectorAll("form");
    for (var i = 0; i < forms.length; i++) busy(forms[i], false);
  });
  document.addEventListener("htmx:beforeRequest", function (e) {
    var el = e.detail && e.detail.elt;
    if (el instanceof HTMLFormElement) busy(el, true);
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var el = e.detail && e.detail.elt;
    if (el instanceof HTMLFormElement) busy(el, false);
  });
})();

// 8. Scrolling tables: a .table-wrap whose table is wider than it (it
//    scrolls sideways) becomes a keyboard-focusable, named region, so
//    keyboard users can scroll it too; checked on load, resize and swaps.
(function () {
  "use strict";
  function mark(root) {
    var wraps = (root || document).querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var w = wraps[i];
      if (w.scrollWidth > w.clientWidth + 1 || w.scrollHeight > w.clientHeight + 1) {
        w.setAttribute("tabindex", "0");
        w.setAttribute("role", "region");
        if (!w.hasAttribute("aria-label")) {
          var t = w.querySelector("table");
          var cap = t && t.querySelector("caption");
          w.setAttribute("aria-label", cap ? cap.textContent : "Table (scrolls sideways)");
        }
      } else if (w.getAttribute("role") === "region") {
        w.removeAttribute("tabindex");
        w.removeAttribute("role");
      }
    }
  }
  window.addEventListener("resize", function () { mark(document); });
  document.addEventListener("htmx:afterSettle", function () { mark(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { mark(document); });
  } else {
    mark(document);
  }
})();

// 9. Error summary: a [data-error-summary] shown by the page or an htmx
//    swap gets the focus (screen readers read it, keyboard users start
//    there); its links move the focus to their field (the first control
//    of a fieldset).
(function () {
  "use strict";
  function focusSummary(root) {
    var s = (root || document).querySelector("[data-error-summary]");
    if (s) s.focus();
  }
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("[data-error-summary] a[href^='#']");
    if (!a) return;
    var el = document.getElementById(a.getAttribute("href").slice(1));
    if (!el) return;
    if (el.tagName === "FIELDSET" || el.tagName === "DIV") el = el.querySelector("input, select, textarea") || el;
    e.preventDefault();
    el.focus();
    if (el.scrollIntoView) el.scrollIntoView({ block: "center" });
  });
  document.addEventListener("htmx:afterSettle", function (e) { focusSummary(e.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { focusSummary(document); });
  } else {
    focusSummary(document);
  }
})();

// 10. Session list filters (views/session_filter.templ): the filter form
//     swaps #filtered, itself included, so the button that had the focus
//     is gone. After such a swap the focus goes to the error summary when
//     the filter is wrong (section 9), else back to the new Filter button.
(function () {
  "use strict";
  var filtering = false;
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    filtering = !!(elt && elt.matches && elt.matches("form[data-testid=session-filters]"));
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!filtering) return;
    filtering = false;
    var region = document.getElementById("filtered");
    if (!region) return;
    var summary = region.querySelector("[data-error-summary]");
    var target = summary || region.querySelector("[data-testid=apply-filters]");
    if (target) target.focus();
  });
})();
