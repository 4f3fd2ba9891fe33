/* Live updates: an EventSource on this page's stream; on a change the page fetches itself again and
   swaps its [data-live] regions. Without JavaScript the page is complete, only not live. */
(function () {
  "use strict";
  var url = document.body.getAttribute("data-stream");
  if (!url || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var statusEl = document.getElementById("live-status");
  var busy = false, again = false, timer = null, lastRun = 0, readyBefore = false;
  var GAP_MS = 1000;

  function say(text) { if (statusEl) { statusEl.textContent = text; } }
  function clock() { return new Date().toLocaleTimeString(); }

  function rowIds(root) {
    var ids = {};
    root.querySelectorAll("tr[data-id]").forEach(function (row) { ids[row.getAttribute("data-id")] = true; });
    return ids;
  }

  function swap(doc) {
    var known = rowIds(document);
    var changed = false;
    document.querySelectorAll("[data-live]").forEach(function (region) {
      var name = region.getAttribute("data-live");
      var fresh = doc.querySelector('[data-live="' + name + '"]');
      if (!fresh || fresh.innerHTML === region.innerHTML) { return; }
      var focused = region.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
      var open = region.tagName === "DETAILS" && region.open;
      region.replaceWith(fresh);
      if (open) { fresh.open = true; }
      if (focused) {
        var target = fresh.querySelector('[href="' + CSS.escape(focused) + '"]');
        if (target) { target.focus(); }
      }
      changed = true;
    });
    var added = 0;
    document.querySelectorAll("tr[data-id]").forEach(function (row) {
      if (!known[row.getAttribute("data-id")]) { row.classList.add("is-new"); added += 1; }
    });
    if (changed) { document.dispatchEvent(new CustomEvent("tocsin:updated")); }
    return added;
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    lastRun = Date.now();
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected && new URL(response.url).pathname === "/login") {
          window.location.assign(response.url);
          return null;
        }
        if (!response.ok) { say("Live updates: the server answered " + response.status + "; retrying on the next change"); return null; }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        var added = swap(new DOMParser().parseFromString(html, "text/html"));
        say("Live · updated " + clock() + (added ? " · " + added + " new" : ""));
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { say("Live updates: cannot reach the server; retrying"); })
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer !== null) { return; }
    var wait = Math.max(0, lastRun + GAP_MS - Date.now());
    timer = setTimeout(function () { timer = null; refresh(); }, wait);
  }

  var source = new EventSource(url);
  source.addEventListener("ready", function () {
    say("Live updates on");
    document.body.setAttribute("data-live-state", "connected");
    if (readyBefore) { schedule(); }  /* reconnected: changes may have been missed */
    readyBefore = true;
  });
  source.addEventListener("change", schedule);
  source.addEventListener("resync", schedule);
  source.addEventListener("error", function () {
    document.body.setAttribute("data-live-state", "reconnecting");
    say("Live updates: reconnecting…");
  });
}());
