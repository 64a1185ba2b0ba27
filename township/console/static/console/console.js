/* Live updates and the alarm.  The ingester's NOTIFY reaches this page as server-sent events
   (/live/); each becomes a `feed-<kind>` event on <body>, on which htmx fragments refresh.  While
   the pop-up holds an unacknowledged alert, a tone sounds every 1.5 s (Web Audio: no sound file).
   A browser that blocks sound until the user acts shows the "enable sound" button. */
(function () {
  "use strict";
  var ctx = null, timer = null;
  function audio() {
    if (!ctx) { try { ctx = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { ctx = null; } }
    return ctx;
  }
  function beep() {
    var c = audio();
    if (!c) return;
    var button = document.getElementById("sound");
    if (c.state === "suspended") { if (button) button.hidden = false; c.resume(); }
    var o = c.createOscillator(), g = c.createGain();
    o.type = "square"; o.frequency.value = 880; g.gain.value = 0.15;
    o.connect(g); g.connect(c.destination); o.start(); o.stop(c.currentTime + 0.3);
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  }
  function alarm(on) {
    document.body.dataset.alarm = on ? "on" : "off";
    if (on && !timer) { beep(); timer = setInterval(beep, 1500); }
    if (!on && timer) { clearInterval(timer); timer = null; }
  }
  document.addEventListener("htmx:afterSettle", function (e) {
    var popup = document.getElementById("popup");
    if (popup && (e.target === popup || popup.contains(e.target))) alarm(!!popup.querySelector(".alarm"));
  });
  function connect() {
    var es = new EventSource("/live/");
    es.addEventListener("ready", function () { document.body.dataset.live = "on"; });
    es.addEventListener("feed", function (ev) {
      var data = {};
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      (data.kinds || []).forEach(function (k) { document.body.dispatchEvent(new CustomEvent("feed-" + k)); });
    });
    es.onerror = function () { document.body.dataset.live = "off"; };
  }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("sound");
    if (button) button.addEventListener("click", function () { var c = audio(); if (c) c.resume(); button.hidden = true; });
    connect();
  });
})();
