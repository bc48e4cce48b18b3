// SLA countdowns that tick: <time class="countdown" datetime="ISO" data-left="… {t} …" data-overdue="… {t} …">.
// The texts come translated from the server; {t} becomes H:MM. Lists replaced by live.js are picked up too.
(function () {
  "use strict";
  function clock(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var m = minutes % 60;
    return Math.floor(minutes / 60) + ":" + (m < 10 ? "0" : "") + m;
  }
  function tick() {
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("datetime")) - Date.now();
      var template = el.getAttribute(left < 0 ? "data-overdue" : "data-left") || "{t}";
      el.textContent = template.replace("{t}", clock(left));
      el.classList.toggle("overdue", left < 0);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 15000); });
})();
