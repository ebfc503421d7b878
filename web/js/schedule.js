// SPDX-License-Identifier: MIT
// "Next low-carbon window" on an experiment's page: the server's schedule
// advice (GET /api/2.0/greentrack/schedule?experiment_id=X) for the zone of
// the experiment's runs: when to start the next run (local time and how
// soon), for how long, how much cleaner than now, the expected CO2 of a
// typical run when its energy is known, the source, and a small chart of
// the forecast with the best window shaded. Any error (no zone, provider
// down, an older server) becomes a muted notice: the page never breaks.
import * as api from './api.js';
import { uPlot, theme } from './charts.js';
import { h, co2, sig, time as fmtTime } from './fmt.js';

const GT = '/api/2.0/greentrack/';

export const fetchSchedule = (params, opts) => api.get(GT + 'schedule', params, opts);

// Whole minutes as "45m", "3h", "1h 30m", "2d 4h".
function minutes(m) {
  m = Math.round(m);
  if (m < 60) return `${m}m`;
  if (m < 48 * 60) return m % 60 ? `${Math.floor(m / 60)}h ${m % 60}m` : `${m / 60}h`;
  const hrs = Math.round(m / 60);
  return hrs % 24 ? `${Math.floor(hrs / 24)}d ${hrs % 24}h` : `${hrs / 24}d`;
}

// "in 3h 20m", "now" or "in 12m".
function relative(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return 'now';
  return 'in ' + minutes(s / 60);
}

function clock(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1).toDateString() === d.toDateString();
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  if (sameDay) return `today ${hm}`;
  if (tomorrow) return `tomorrow ${hm}`;
  return fmtTime(ms).slice(0, 16);
}

// The panel: a <section> filled when the answer comes. Returns
// { el, done (a promise settled when filled), destroy() }.
export function schedulePanel(expId, { signal } = {}) {
  const body = h('div.sched-body', { 'aria-live': 'polite' }, h('p.muted', { text: 'Asking for the grid forecast…' }));
  const el = h('section.card.schedule#schedule', { 'aria-label': 'Next low-carbon window', dataset: { state: 'loading' } },
    h('h2', { text: 'Next low-carbon window' }), body);
  let chart = null;
  const destroy = () => { if (chart) { chart.destroy(); chart = null; } };

  const notice = (state, kids) => {
    el.dataset.state = state;
    body.replaceChildren(h('p.muted.sched-notice', {}, ...kids));
  };

  const done = fetchSchedule({ experiment_id: expId }, { signal }).then((a) => {
    if (signal && signal.aborted) return;
    render(a);
  }, (e) => {
    if (signal && signal.aborted) return;
    if (e instanceof api.ApiError && e.status === 400) {
      notice('nozone', [
        'No grid zone is known for this experiment’s runs, so there is no advice on when to run greener. ',
        'Tag runs with ', h('code', { text: 'greentrack.zone' }), ': run with ', h('code', { text: 'GREENTRACK_ZONE=GB' }),
        ', or ', h('code', { text: 'greentrack run --tag greentrack.zone=GB -- …' }), '. ',
        h('span.sched-why', { text: `(${e.message})` }),
      ]);
    } else if (e instanceof api.ApiError && e.status === 404 && e.code !== 'RESOURCE_DOES_NOT_EXIST') {
      notice('unsupported', ['This server does not offer schedule advice.']);
    } else {
      notice('unavailable', ['Schedule advice is unavailable right now: ', h('span.sched-why', { text: e.message })]);
    }
  });

  function render(a) {
    const now = Date.parse(a.now) || Date.now();
    const best = Date.parse(a.best_start);
    const end = Date.parse(a.best_end);
    const delayMs = Number.isFinite(best) ? Math.max(0, best - now) : null;
    el.dataset.state = 'ok';
    const facts = [
      fact('Best start', h('span.sched-start', {
        text: delayMs === null ? '—' : delayMs < 60000 ? 'now' : `${clock(best)} (${relative(delayMs)})`,
        title: Number.isFinite(best) ? `${fmtTime(best)} local, ${a.best_start}` : undefined,
      })),
      fact('Run length', h('span.sched-duration', { text: a.duration_minutes == null ? '—' : minutes(a.duration_minutes) })),
      fact('Saving vs now', h('span.sched-saving', {
        text: a.saving_percent == null ? '—' : `${sig(a.saving_percent, 2)}% less CO₂`,
        title: `${sig(a.now_mean_intensity_g_per_kwh)} g/kWh now → ${sig(a.best_mean_intensity_g_per_kwh)} g/kWh at the best start`,
      })),
      fact('Intensity', h('span.sched-intensity', {
        text: `${sig(a.now_mean_intensity_g_per_kwh)} → ${sig(a.best_mean_intensity_g_per_kwh)} g/kWh`,
      })),
    ];
    if (a.expected_co2_g_now != null && a.expected_co2_g_best != null) {
      facts.push(fact('Typical run', h('span.sched-co2', {
        text: `${co2(a.expected_co2_g_now)} now → ${co2(a.expected_co2_g_best)}`,
        title: a.typical_energy_kwh != null ? `${sig(a.typical_energy_kwh)} kWh per run (${a.runs_considered ?? '?'} runs)` : undefined,
      })));
    }
    const chartBox = h('div.chart.sched-chart', { 'aria-label': 'Forecast carbon intensity, best window shaded' });
    const src = h('p.muted.small.sched-source', {},
      `Zone ${a.zone} · source ${a.source}${a.basis ? ` (${a.basis})` : ''}`,
      a.runs_considered != null ? ` · from ${a.runs_considered} run${a.runs_considered === 1 ? '' : 's'}` : '',
      Number.isFinite(end) ? ` · window ends ${clock(end)}` : '');
    body.replaceChildren(h('dl.facts.sched-facts', {}, ...facts), chartBox, src);
    destroy();
    // the chart shows what the advice looked at: now to the latest end
    const horizon = now + ((a.within_hours ?? 24) * 3600 + (a.duration_minutes ?? 0) * 60) * 1000;
    chart = forecastChart(chartBox, a.forecast || [], best, end, now, horizon);
  }

  return { el, done, destroy };
}

function fact(label, value) {
  return h('div', {}, h('dt', { text: label }), h('dd', {}, value));
}

// Intensity over time as steps, from an hour before 'now' to 'horizon'
// (ms); the best window shaded, now marked.
function forecastChart(el, forecast, best, end, now, horizon) {
  const lo = now / 1000 - 3600;
  const hi = horizon / 1000;
  const pts = forecast
    .map((f) => ({ from: Date.parse(f.from) / 1000, to: Date.parse(f.to) / 1000, y: f.intensity_g_per_kwh }))
    .filter((p) => Number.isFinite(p.from) && Number.isFinite(p.to) && typeof p.y === 'number' && p.to > lo && p.from < hi)
    .map((p) => ({ ...p, from: Math.max(p.from, lo), to: Math.min(p.to, hi) }))
    .sort((a, b) => a.from - b.from);
  el.dataset.points = String(pts.length);
  if (pts.length < 1) {
    el.append(h('p.muted.small', { text: 'No forecast points to draw.' }));
    return null;
  }
  const xs = pts.map((p) => p.from);
  const ys = pts.map((p) => p.y);
  xs.push(pts[pts.length - 1].to); // the last slot's end
  ys.push(pts[pts.length - 1].y);
  const t = theme();
  const height = 150;
  const width = Math.max(240, Math.floor(el.clientWidth) || 600);
  const shade = (u) => {
    const c = u.ctx;
    const top = u.bbox.top;
    const hgt = u.bbox.height;
    c.save();
    if (Number.isFinite(best) && Number.isFinite(end)) {
      const x0 = u.valToPos(best / 1000, 'x', true);
      const x1 = u.valToPos(end / 1000, 'x', true);
      c.fillStyle = t.accent;
      c.globalAlpha = 0.16;
      c.fillRect(Math.min(x0, x1), top, Math.max(1, Math.abs(x1 - x0)), hgt);
    }
    const xn = u.valToPos(now / 1000, 'x', true);
    c.globalAlpha = 0.8;
    c.strokeStyle = t.muted;
    c.setLineDash([4, 4]);
    c.beginPath();
    c.moveTo(xn, top);
    c.lineTo(xn, top + hgt);
    c.stroke();
    c.restore();
  };
  const axis = (extra) => ({
    stroke: t.muted, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 },
    font: '11px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif', ...extra,
  });
  const u = new uPlot({
    width, height,
    scales: {
      // the forecast, the best window and now all in view
      x: { time: true, range: (u0, lo, hi) => [Math.min(lo, now / 1000), Math.max(hi, Number.isFinite(end) ? end / 1000 : hi)] },
      y: { range: (u0, lo, hi) => [0, Math.max(hi * 1.1, 1)] },
    },
    cursor: { drag: { x: false, y: false }, points: { size: 5 } },
    legend: { show: false },
    axes: [axis({}), axis({ label: 'g CO₂/kWh', size: 55 })],
    series: [
      {},
      { label: 'intensity', stroke: t.accent, width: 1.75, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
    ],
    hooks: { drawClear: [shade] },
  }, [xs, ys], el);
  const ro = new ResizeObserver(() => {
    const w = Math.floor(el.clientWidth);
    if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
  });
  ro.observe(el);
  const destroyChart = u.destroy.bind(u);
  u.destroy = () => { ro.disconnect(); destroyChart(); };
  return u;
}
