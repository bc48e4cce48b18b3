// Live parts of a page, without a framework or a build step.
// <section data-live-src="/live/stream" data-live-events="notice work_order" data-live-refresh="/a/fragment">
//   On each named event from the Server-Sent Events stream at data-live-src, the section's content is replaced
//   by the HTML fragment at data-live-refresh (server-rendered, like everything else). Every event is also
//   re-dispatched on document as a CustomEvent "forewarn:<event>" with the parsed JSON as detail, and the
//   section gets data-live-state="open" | "closed" (for tests and for a "reconnecting" hint in CSS).
// EventSource reconnects by itself and sends Last-Event-ID, so nothing is missed across a reconnect.
(function () {
  "use strict";
  var sources = {};

  function refresh(section) {
    var url = section.getAttribute("data-live-refresh");
    if (!url) return;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        section.innerHTML = html;
        section.setAttribute("data-live-updated", String(Date.now()));
      })
      .catch(function (err) { console.warn("live refresh failed", url, err); });
  }

  function source(url) {
    if (!sources[url]) sources[url] = new EventSource(url, { withCredentials: true });
    return sources[url];
  }

  function watch(section) {
    var es = source(section.getAttribute("data-live-src"));
    var names = (section.getAttribute("data-live-events") || "message").split(/\s+/);
    es.addEventListener("open", function () { section.setAttribute("data-live-state", "open"); });
    es.addEventListener("error", function () { section.setAttribute("data-live-state", "closed"); });
    names.forEach(function (name) {
      es.addEventListener(name, function (ev) {
        var detail = null;
        try { detail = JSON.parse(ev.data); } catch (e) { detail = ev.data; }
        document.dispatchEvent(new CustomEvent("forewarn:" + name, { detail: detail }));
        refresh(section);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-src]").forEach(watch);
  });
})();
