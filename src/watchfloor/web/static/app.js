// watchfloor console behaviour. Loaded as a file (the CSP forbids inline script); no eval.
// Sections: keyboard shortcuts, deadline countdowns, charts. Pages opt in with data attributes.
"use strict";

(function () {
  // ---- deadline countdowns: <span class="countdown" data-deadline="ISO-8601 UTC"> -------------------
  function formatLeft(ms) {
    const past = ms < 0;
    let s = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const text = (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
    return past ? "overdue " + text : text + " left";
  }
  function tickCountdowns() {
    const now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      const left = Date.parse(el.dataset.deadline) - now;
      el.textContent = formatLeft(left);
      el.classList.toggle("breached", left < 0);
    });
  }
  setInterval(tickCountdowns, 1000);
  document.addEventListener("DOMContentLoaded", tickCountdowns);
  document.addEventListener("htmx:afterSwap", tickCountdowns);

  // ---- keyboard shortcuts: rows marked data-row; keys bound with data-key on buttons/links -----------
  // j/k move the selection, and any element with data-key="c" (etc.) inside the selected row is clicked.
  function rows() { return Array.from(document.querySelectorAll("[data-row]")); }
  function selected() { return document.querySelector("[data-row].selected"); }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); });
    if (row) { row.classList.add("selected"); row.scrollIntoView({ block: "nearest" }); }
  }
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const all = rows();
    const current = selected();
    const index = current ? all.indexOf(current) : -1;
    if (event.key === "j") { select(all[Math.min(index + 1, all.length - 1)] || all[0]); event.preventDefault(); return; }
    if (event.key === "k") { select(all[Math.max(index - 1, 0)]); event.preventDefault(); return; }
    if (event.key === "Enter" && current) {
      const open = current.querySelector("[data-open]");
      if (open) { open.click(); event.preventDefault(); }
      return;
    }
    const scope = current || document;
    const action = scope.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (action) { action.click(); event.preventDefault(); }
  });

  // ---- charts: <div class="chart" data-series='{"x": [...unix seconds], "y": [...], "label": "posts"}'> --
  function drawCharts(root) {
    if (typeof uPlot === "undefined") return;
    (root || document).querySelectorAll(".chart[data-series]").forEach(function (el) {
      if (el.dataset.drawn) return;
      el.dataset.drawn = "1";
      const data = JSON.parse(el.dataset.series);
      const width = Math.max(el.clientWidth, 300);
      new uPlot({
        width: width, height: 220,
        series: [{}, { label: data.label || "count", stroke: "#1f5fbf", fill: "rgba(31,95,191,.12)" }],
        axes: [{}, {}],
      }, [data.x, data.y], el);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
})();

// ==== W1: live queue, dismiss chooser, multi-series dashboard charts ===================================
(function () {
  // The dismiss chooser (<details class="dismiss">): opening it with "d" puts the focus on its select.
  document.addEventListener("toggle", function (event) {
    const details = event.target;
    if (details instanceof HTMLDetailsElement && details.classList.contains("dismiss") && details.open) {
      const select = details.querySelector("select");
      if (select) select.focus();
    }
  }, true);

  // Live queue status: the SSE extension reports the connection on the tbody (sse-connect).
  function liveStatus(text, bad) {
    const el = document.getElementById("live-status");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("bad", !!bad);
  }
  document.addEventListener("htmx:sseOpen", function () { liveStatus("(live)", false); });
  document.addEventListener("htmx:sseError", function () { liveStatus("(reconnecting…)", true); });
  document.addEventListener("htmx:sseBeforeMessage", function () {
    const empty = document.querySelector(".queue-empty");
    if (empty) empty.remove();
  });

  // Multi-series charts: <div class="chart" data-chart='{"x": [unix s], "series": [{"label", "y"}]}'>.
  const COLOURS = ["#1f5fbf", "#c24e00", "#2e7d32", "#8a2be2", "#b00020", "#8a6d00", "#00838f", "#5b6470", "#333"];
  function drawMulti(root) {
    if (typeof uPlot === "undefined") return;
    (root || document).querySelectorAll(".chart[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      const data = JSON.parse(el.dataset.chart);
      if (!data.series.length) return;
      el.dataset.drawn = "1";
      const series = [{}].concat(data.series.map(function (s, i) {
        return { label: s.label, stroke: COLOURS[i % COLOURS.length], width: 1.5 };
      }));
      new uPlot({ width: Math.max(el.clientWidth, 300), height: 220, series: series, axes: [{}, {}] },
        [data.x].concat(data.series.map(function (s) { return s.y; })), el);
    });
  }
  window.addEventListener("load", function () { drawMulti(document); });
})();
