// SLA countdowns that tick: <time class="countdown" datetime="ISO" data-left="… {t} …" data-overdue="… {t} …">.
// The texts come translated from the server; {t} becomes the time as the server wrote it (engineer/_macros.html
// `span`): data-days "{d} d {h} h", data-hours "{h} h {m} min", data-minutes "{m} min". Lists replaced by live.js
// are picked up too.
// A refused form is answered at the form's own address (a POST to …/step): the refusal names the page's address
// (data-page-url), which replaces it in the history entry, so that a refresh reloads the page (GET) instead of
// sending the form again, and the address bar shows the work order.
(function () {
  "use strict";
  function span(el, ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(minutes / 1440), h = Math.floor(minutes / 60) % 24, m = minutes % 60;
    var template = el.getAttribute(d ? "data-days" : h ? "data-hours" : "data-minutes") || "{h}:{m}";
    return template.replace("{d}", d).replace("{h}", h).replace("{m}", m);
  }
  function tick() {
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("datetime")) - Date.now();
      var template = el.getAttribute(left < 0 ? "data-overdue" : "data-left") || "{t}";
      el.textContent = template.replace("{t}", span(el, left));
      el.classList.toggle("overdue", left < 0);
    });
  }
  function ownAddress() {
    var el = document.querySelector("[data-page-url]");
    var url = el && el.getAttribute("data-page-url");
    if (url && url !== location.pathname + location.search && window.history && history.replaceState) {
      history.replaceState(history.state, "", url);
    }
  }
  document.addEventListener("DOMContentLoaded", function () { ownAddress(); tick(); setInterval(tick, 15000); });
})();
