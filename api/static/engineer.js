// SLA countdowns that tick: <time class="countdown" datetime="ISO" data-left="… {t} …" data-overdue="… {t} …">.
// The texts come translated from the server; {t} becomes the time as the server wrote it (engineer/_macros.html
// `span`): data-days "{d} d {h} h", data-hours "{h} h {m} min", data-minutes "{m} min". Lists replaced by live.js
// are picked up too.
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
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 15000); });
})();
