// SPDX-License-Identifier: MIT
// Every chart is uPlot (vendor/uPlot.esm.js, from npm): line charts of
// metrics and energy, and the Pareto scatter. This file only configures
// it: colours from the CSS theme, sizes from the container, hover tooltips.
import uPlot from '/vendor/uPlot.esm.js';
import { h, sig, metric as fmtMetric, co2 as fmtCo2, time as fmtTime } from './fmt.js';

export { uPlot };

export function theme() {
  const cs = getComputedStyle(document.documentElement);
  const v = (n) => cs.getPropertyValue(n).trim();
  return {
    fg: v('--fg'), muted: v('--muted'), grid: v('--grid'), bg: v('--bg'),
    accent: v('--accent'), front: v('--front'), dots: v('--dots'),
    palette: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => v('--c' + i)),
  };
}

function axis(t, extra = {}) {
  return {
    stroke: t.muted, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 },
    font: '11px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif', ...extra,
  };
}

// Keeps the chart as wide as its container.
function autosize(u, el, height) {
  const ro = new ResizeObserver(() => {
    const w = Math.floor(el.clientWidth);
    if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
  });
  ro.observe(el);
  const destroy = u.destroy.bind(u);
  u.destroy = () => { ro.disconnect(); destroy(); };
  return u;
}

export function ema(ys, w) {
  if (!w) return ys;
  const out = new Array(ys.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) { out[i] = y; continue; }
    last = last * w + (1 - w) * y;
    n++;
    out[i] = last / (1 - w ** n);
  }
  return out;
}

// A line chart. xMode: 'step' | 'time' (x in seconds since the epoch) |
// 'rel' (seconds since start). series: [{label, color?, width?, dash?, alpha?}].
export function lineChart(el, { xMode = 'step', series, data, height = 220, yLabel, stepped = false, spanGaps = true }) {
  const t = theme();
  const width = Math.max(200, Math.floor(el.clientWidth) || 600);
  const opts = {
    width, height,
    scales: { x: { time: xMode === 'time' } },
    cursor: { drag: { x: true, y: false }, points: { size: 6 } },
    legend: { live: true },
    axes: [
      axis(t, xMode === 'rel' ? { values: (u, vs) => vs.map((v) => relTime(v)) }
        : xMode === 'step' ? { incrs: STEP_INCRS } : {}),
      axis(t, { label: yLabel, size: 60, values: (u, vs) => vs.map((v) => fmtMetric(v)) }),
    ],
    series: [
      { label: xMode === 'step' ? 'step' : xMode === 'rel' ? 'time' : 'wall time',
        value: xMode === 'time' ? (u, v) => (v == null ? '—' : fmtTime(v * 1000)) : xMode === 'rel' ? (u, v) => (v == null ? '—' : relTime(v)) : undefined },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.color || t.palette[i % t.palette.length],
        width: s.width ?? 1.75,
        dash: s.dash,
        alpha: s.alpha,
        spanGaps,
        paths: stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
        points: { show: false },
        value: (u, v) => (v == null ? '—' : fmtMetric(v)),
      })),
    ],
  };
  return autosize(new uPlot(opts, data, el), el, height);
}

// Vertical bars, one per label (e.g. the Hardware tab's median CO2 per
// machine group), the y axis from 0; each label shortened on the x axis
// (the full one is in the legend on hover).
export function barChart(el, labels, values, { height = 240, yLabel } = {}) {
  const t = theme();
  const width = Math.max(240, Math.floor(el.clientWidth) || 600);
  const short = (s) => (s.length > 28 ? s.slice(0, 27) + '…' : s);
  const opts = {
    width, height,
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (u, min, max) => [0, (max || 1) * 1.1] } },
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    legend: { live: true },
    axes: [
      axis(t, { incrs: [1], values: (u, vs) => vs.map((v) => (Number.isInteger(v) && labels[v] !== undefined ? short(labels[v]) : '')) }),
      axis(t, { label: yLabel, size: 60, values: (u, vs) => vs.map((v) => fmtCo2(v)) }),
    ],
    series: [
      { label: 'group', value: (u, v) => (v == null || labels[v] === undefined ? '—' : labels[v]) },
      { label: yLabel || 'value', stroke: t.accent, fill: t.dots, width: 1, paths: uPlot.paths.bars({ size: [0.6, 90] }),
        points: { show: false }, value: (u, v) => (v == null ? '—' : fmtCo2(v)) },
    ],
  };
  el.dataset.bars = String(values.length);
  return autosize(new uPlot(opts, [labels.map((_, i) => i), values], el), el, height);
}

// whole steps only on a step axis
const STEP_INCRS = [1, 2, 5].flatMap((m) => Array.from({ length: 12 }, (_, e) => m * 10 ** e)).sort((a, b) => a - b);

function relTime(s) {
  if (s < 120) return Math.round(s) + 's';
  if (s < 7200) return sig(s / 60) + 'm';
  return sig(s / 3600) + 'h';
}

// The metric against CO2 (log scale) of 'pts' ([{x: CO2, y: metric,
// front}] sorted by x): each point a dot, those on the Pareto front joined
// by a line. label, dotSize, frontSize: the dots' series and point sizes;
// labelOf(pt), when given, is written beside each point. Hover shows
// tip(pt) (the tooltip's children); a click calls onOpen(pt). For tests
// and tools, the chart's pointOf(key) is the page position of the point
// for which matches(pt, key) holds.
function co2Scatter(el, pts, { metricName, height, tooltip, label, dotSize, frontSize, labelOf, tip, onOpen, matches }) {
  const t = theme();
  const xs = pts.map((q) => q.x);
  const dots = pts.map((q) => (q.front ? null : q.y));
  const front = pts.map((q) => (q.front ? q.y : null));
  el.dataset.points = String(pts.length);
  let px = null; // cached pixel positions, rebuilt after each draw
  const width = Math.max(240, Math.floor(el.clientWidth) || 420);
  const opts = {
    width, height,
    scales: { x: { time: false, distr: 3, log: 10 } },
    cursor: { drag: { x: false, y: false }, points: { show: false }, x: false, y: false },
    legend: { show: true, live: false },
    axes: [
      axis(t, { label: 'CO₂ (log scale)', values: (u, vs) => vs.map((v) => (v == null ? '' : fmtCo2(v))) }),
      axis(t, { label: metricName, size: 60, values: (u, vs) => vs.map((v) => fmtMetric(v)) }),
    ],
    series: [
      { label: 'CO₂' },
      { label, stroke: t.dots, fill: t.dots, paths: () => null, points: { show: true, size: dotSize, width: 1, fill: t.dots, stroke: t.dots } },
      { label: 'Pareto front', stroke: t.front, width: 2, spanGaps: true, points: { show: true, size: frontSize, width: 1.5, fill: t.front, stroke: t.front } },
    ],
    hooks: {
      draw: [(u) => {
        px = new Float32Array(pts.length * 2);
        const ctx = u.ctx;
        const r = uPlot.pxRatio || 1;
        if (labelOf) {
          ctx.save();
          ctx.fillStyle = t.fg;
          ctx.font = `${Math.round(11 * r)}px system-ui, sans-serif`;
          ctx.textBaseline = 'bottom';
        }
        for (let i = 0; i < pts.length; i++) {
          px[2 * i] = u.valToPos(pts[i].x, 'x');
          px[2 * i + 1] = u.valToPos(pts[i].y, 'y');
          if (labelOf) ctx.fillText(labelOf(pts[i]), u.valToPos(pts[i].x, 'x', true) + 6 * r, u.valToPos(pts[i].y, 'y', true) - 3 * r);
        }
        if (labelOf) ctx.restore();
      }],
    },
  };
  const u = new uPlot(opts, [xs, dots, front], el);
  // the point within 12 px of the event, nearest first; -1 for none
  const nearest = (ev) => {
    if (!px) return -1;
    const rect = u.over.getBoundingClientRect();
    const cx = ev.clientX - rect.left;
    const cy = ev.clientY - rect.top;
    let best = -1;
    let bd = 12 * 12;
    for (let i = 0; i < pts.length; i++) {
      const dx = px[2 * i] - cx;
      const dy = px[2 * i + 1] - cy;
      const d = dx * dx + dy * dy;
      if (d <= bd) { bd = d; best = i; }
    }
    return best;
  };
  u.over.addEventListener('mousemove', (ev) => {
    const i = nearest(ev);
    u.over.style.cursor = i >= 0 ? 'pointer' : '';
    if (i < 0) { tooltip.hide(); return; }
    tooltip.show(ev.clientX, ev.clientY, tip(pts[i]));
  });
  u.over.addEventListener('mouseleave', () => tooltip.hide());
  u.over.addEventListener('click', (ev) => {
    const i = nearest(ev);
    if (i >= 0 && onOpen) { tooltip.hide(); onOpen(pts[i]); }
  });
  u.pointOf = (key) => {
    const i = pts.findIndex((q) => matches(q, key));
    if (i < 0 || !px) return null;
    const rect = u.over.getBoundingClientRect();
    return { x: rect.left + px[2 * i], y: rect.top + px[2 * i + 1] };
  };
  return autosize(u, el, height);
}

// CO2 (log scale) against the metric: every scored run as a dot, the
// Pareto front as a line. Hover shows a run's details; a click opens it.
// rows: leaderboard rows with score !== null.
export function paretoChart(el, rows, { metricName, onOpen, height = 340, tooltip }) {
  const pts = rows
    .filter((r) => r.score !== null && r.co2_g !== null && r.metric_value !== null)
    .map((r) => ({ r, x: Math.max(r.co2_g, 1e-3), y: r.metric_value, front: r.pareto }))
    .sort((a, b) => a.x - b.x || a.y - b.y);
  el.dataset.front = String(pts.filter((p) => p.front).length);
  return co2Scatter(el, pts, {
    metricName, height, tooltip, label: 'runs', dotSize: 5, frontSize: 7,
    tip: ({ r }) => [
      h('strong', { text: r.run_name || r.run_id }),
      h('div', { text: `${metricName}: ${fmtMetric(r.metric_value)}` }),
      h('div', { text: `CO₂: ${fmtCo2(r.co2_g)}` }),
      h('div', { text: `score: ${sig(r.score)} · rank ${r.rank ?? '—'}` }),
      r.pareto ? h('div.front-note', { text: 'on the Pareto front' }) : null,
    ],
    onOpen: (p) => onOpen(p.r),
    matches: (p, runId) => p.r.run_id === runId,
  });
}

// Whether each point is on the Pareto front: no other point is at least as
// good on both the metric (higher is better when 'maximize') and CO2
// (lower is better) and strictly better on one. pts: [{x: CO2, y: metric}].
export function paretoFlags(pts, maximize = true) {
  const better = (a, b) => (maximize ? a > b : a < b);
  return pts.map((p) => !pts.some((q) => q !== p &&
    q.x <= p.x && !better(p.y, q.y) && (q.x < p.x || better(q.y, p.y))));
}

// A registered model's versions: metric against CO2 (log scale), each
// version a dot labelled "v<N>", the versions on the Pareto front joined by
// a line, as the leaderboard's chart shows runs. points: [{version, co2_g,
// metric, per_kg, stage, aliases, run_id}] with co2_g and metric set.
// Hover shows a version; a click calls onOpen(point).
export function versionChart(el, points, { metricName, maximize = true, onOpen, height = 320, tooltip }) {
  const pts = points
    .map((p) => ({ p, x: Math.max(p.co2_g, 1e-3), y: p.metric }))
    .sort((a, b) => a.x - b.x || a.y - b.y);
  const flags = paretoFlags(pts, maximize);
  pts.forEach((q, i) => { q.front = flags[i]; });
  el.dataset.front = pts.filter((q) => q.front).map((q) => q.p.version).join(',');
  return co2Scatter(el, pts, {
    metricName, height, tooltip, label: 'versions', dotSize: 7, frontSize: 8,
    labelOf: (q) => `v${q.p.version}`,
    tip: ({ p, front }) => [
      h('strong', { text: `Version ${p.version}` }),
      p.stage && p.stage !== 'None' ? h('div', { text: `stage: ${p.stage}` }) : null,
      p.aliases && p.aliases.length ? h('div', { text: `aliases: ${p.aliases.map((a) => '@' + a).join(' ')}` }) : null,
      h('div', { text: `${metricName}: ${fmtMetric(p.metric)}` }),
      h('div', { text: `CO₂: ${fmtCo2(p.co2_g)}` }),
      p.per_kg !== null && p.per_kg !== undefined ? h('div', { text: `${metricName} / kg CO₂: ${sig(p.per_kg, 4)}` }) : null,
      front ? h('div.front-note', { text: 'on the Pareto front' }) : null,
    ],
    onOpen: onOpen && ((q) => onOpen(q.p)),
    matches: (q, version) => q.p.version === String(version),
  });
}

// The floating tooltip (#tooltip in index.html).
export const tooltip = {
  el: null,
  show(x, y, kids) {
    const el = this.el || (this.el = document.getElementById('tooltip'));
    el.replaceChildren(...kids.filter(Boolean));
    el.hidden = false;
    const w = el.offsetWidth;
    const hgt = el.offsetHeight;
    el.style.left = Math.min(x + 14, innerWidth - w - 8) + 'px';
    el.style.top = Math.min(y + 14, innerHeight - hgt - 8) + 'px';
  },
  hide() { if (this.el) this.el.hidden = true; },
};
