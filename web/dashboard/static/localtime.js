/* Times in the reader's zone: every <time datetime> shows the browser's local time (with its zone), and the
   UTC time the server wrote stays in a tooltip. Without JavaScript the page shows UTC. */
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat) { return; }
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false, timeZoneName: "short"
  });
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local";

  function local(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.getAttribute("data-local") === "1") { return; }
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) { return; }
      var utc = when.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
      el.setAttribute("title", utc);
      el.textContent = format.format(when);
      el.setAttribute("data-local", "1");
    });
    document.body.setAttribute("data-zone", zone);
  }

  local(document);
  document.addEventListener("tocsin:updated", function () { local(document); });
}());
