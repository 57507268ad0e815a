/* Backstep dashboard: draws the patient's pain chart from the page's JSON data block.
   Kept in a static file (no inline script) so the Content-Security-Policy can forbid them. */
(function () {
  "use strict";

  var holder = document.getElementById("pain-chart");
  var source = document.getElementById("chart-data");
  if (!holder || !source || typeof uPlot === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var DAY = 86400;
  // Each value is a patient-local date; plotted as UTC midnight and labelled in UTC so the
  // axis shows the patient's dates whatever the browser's own time zone.
  function seconds(isoDate) {
    return Date.parse(isoDate + "T00:00:00Z") / 1000;
  }
  var xs = data.days.map(seconds);
  var SESSION_ROW = -0.6;
  var sessions = data.sessions.map(function (n) { return n ? SESSION_ROW : null; });
  var changes = data.changes.map(function (c) {
    return { x: seconds(c.date), label: c.label, action: c.action };
  });
  var CHANGE_COLOURS = {
    progress: "#047857", complete: "#047857", assign: "#6d28d9", set_level: "#6d28d9",
    regress: "#b45309", reduce: "#b45309", restore: "#1d4ed8", resume: "#1d4ed8", pause: "#b91c1c"
  };

  function drawChanges(u) {
    var ctx = u.ctx;
    var top = u.bbox.top;
    var bottom = u.bbox.top + u.bbox.height;
    ctx.save();
    ctx.font = Math.round(11 * devicePixelRatio) + "px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.textAlign = "left"; // uPlot leaves the axes' alignment set
    var lastLabelEnd = -Infinity;
    var row = 0;
    changes.forEach(function (c) {
      var x = Math.round(u.valToPos(c.x, "x", true));
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) {
        return;
      }
      var colour = CHANGE_COLOURS[c.action] || "#374151";
      ctx.strokeStyle = colour;
      ctx.lineWidth = devicePixelRatio;
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      // Labels step down a row when they would overlap the previous one.
      row = x < lastLabelEnd ? (row + 1) % 3 : 0;
      var width = ctx.measureText(c.label).width;
      var y = top + 2 * devicePixelRatio + row * 14 * devicePixelRatio;
      // Beside the line, on its left when the right edge of the plot is too close.
      var textX = x + 4 * devicePixelRatio;
      if (textX + width > u.bbox.left + u.bbox.width) {
        textX = x - width - 4 * devicePixelRatio;
      }
      ctx.fillStyle = "rgba(255,255,255,0.85)";
      ctx.fillRect(textX - 2 * devicePixelRatio, y, width + 4 * devicePixelRatio, 13 * devicePixelRatio);
      ctx.fillStyle = colour;
      ctx.fillText(c.label, textX, y + devicePixelRatio);
      lastLabelEnd = Math.max(lastLabelEnd, textX + width + 4 * devicePixelRatio);
    });
    ctx.restore();
  }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function dayLabel(ts) {
    var d = new Date(ts * 1000);
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()];
  }

  function size() {
    return { width: Math.max(320, holder.clientWidth), height: 340 };
  }

  var options = {
    width: size().width,
    height: size().height,
    tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
    scales: {
      x: { time: true, range: function () { return [xs[0] - DAY / 2, xs[xs.length - 1] + DAY / 2]; } },
      y: { range: [-1.2, 10.4] }
    },
    axes: [
      {
        stroke: "#4b5563",
        grid: { stroke: "#eef0f3" },
        values: function (u, splits) { return splits.map(dayLabel); }
      },
      {
        stroke: "#4b5563",
        grid: { stroke: "#eef0f3" },
        splits: function () { return [0, 2, 4, 6, 8, 10]; },
        label: "Pain (0–10)",
        size: 50
      }
    ],
    series: [
      { label: "Date", value: "{WWW} {D} {MMM} {YYYY}" },
      {
        label: "Back pain",
        stroke: "#1d4ed8",
        width: 2,
        points: { show: true, size: 6, fill: "#1d4ed8" },
        value: function (u, v) { return v == null ? "no log" : v + "/10"; }
      },
      {
        label: "Leg pain",
        stroke: "#d97706",
        width: 2,
        dash: [6, 4],
        points: { show: true, size: 5, fill: "#ffffff" },
        value: function (u, v) { return v == null ? "–" : v + "/10"; }
      },
      {
        label: "Exercise session",
        stroke: "#059669",
        width: 0,
        paths: function () { return null; },
        points: { show: true, size: 9, fill: "#059669", stroke: "#059669" },
        value: function (u, v) { return v == null ? "–" : "done"; }
      }
    ],
    legend: { live: false },
    hooks: { draw: [drawChanges] }
  };

  var chart = new uPlot(options, [xs, data.back, data.leg, sessions], holder);
  window.backstepChart = chart;
  holder.setAttribute("data-points", String(data.back.filter(function (v) { return v !== null; }).length));
  holder.setAttribute("data-ready", "true");

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () { chart.setSize(size()); }, 150);
  });
})();
