// SPDX-License-Identifier: MIT
// Green-AI decisions in the UI (issue 18): the API calls and the pieces
// the run page, the experiment page, the experiments list and the report
// page share: the budget bar, a run's phases, upstream chain and
// what-if alternatives, the Hardware tab (table and uPlot bar chart), and
// static SVG charts (no script, no canvas) that also work in the offline
// report. Everything is built with textContent: user data never reaches
// innerHTML.
import * as api from './api.js';
import { h, co2, energy, duration, sig, metric as fmtMetric, time as fmtTime } from './fmt.js';

const GT = '/api/2.0/greentrack/';

// ---- API
// One experiment's summary ({experiment_id, name, runs, running, energy_kwh,
// co2_g, last_activity, potential_saving_g, budget_co2_kg?, used_co2_kg?,
// budget_used_fraction?}); null when the server does not list it.
export async function experimentSummary(expId, opts) {
  const r = await api.get(GT + 'experiments/summary', { experiment_id: expId }, opts);
  if (r && Array.isArray(r.experiments)) return r.experiments.find((e) => String(e.experiment_id) === String(expId)) || null;
  return r && r.experiment_id !== undefined ? r : null;
}
// The same from the list form (no potential_saving_g, which reads every
// run's carbon): cheap enough for the experiment page's budget bar.
export async function experimentFromList(expId, opts) {
  const r = await api.experimentSummary(opts);
  return (r.experiments || []).find((e) => String(e.experiment_id) === String(expId)) || null;
}
export const hardware = (expId, metric, direction, opts) => api.get(GT + 'hardware', { experiment_id: expId, metric, direction }, opts);

// ---- numbers
const finite = (x) => typeof x === 'number' && Number.isFinite(x);

// "0.5 kg of 2 kg (25%)"
export function budgetText(e) {
  const pct = finite(e.budget_used_fraction) ? Math.round(e.budget_used_fraction * 1000) / 10 : null;
  return `${co2(api.num(e.used_co2_kg) * 1000)} of ${co2(api.num(e.budget_co2_kg) * 1000)}` + (pct === null ? '' : ` (${pct}%)`);
}

// A carbon-budget bar for a summary row with a budget, or null without
// one. 'small' for the experiments list. role=meter; data-fraction holds
// the server's budget_used_fraction, data-over is set when over budget.
export function budgetBar(e, { small = false } = {}) {
  if (!e || e.budget_co2_kg === undefined || e.budget_co2_kg === null) return null;
  const f = api.num(e.budget_used_fraction);
  // (a budget of 0 has no fraction: any CO2 is over it)
  const frac = finite(f) ? f : api.num(e.used_co2_kg) > 0 ? Infinity : 0;
  const over = frac > 1;
  const fill = h('span.budget-fill', {});
  fill.style.width = `${Math.min(100, Math.max(0, frac * 100))}%`;
  const text = budgetText(e);
  const bar = h('span.budget-track', {}, fill);
  const el = h(small ? 'span.budgetbar.small' : 'div.budgetbar', {
    role: 'meter', 'aria-label': 'Carbon budget used', 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-valuenow': String(finite(frac) ? Math.round(frac * 100) : 100), 'aria-valuetext': text + (over ? ', over budget' : ''),
    title: `Carbon budget (experiment tag greentrack.budget_co2_kg): ${text}`,
    dataset: { fraction: String(frac) },
  }, bar, small ? h('span.budget-pct', { text: finite(frac) ? `${Math.round(frac * 100)}%` : 'over' })
    : h('span.budget-label', {}, h('strong', { text: over ? 'Over budget: ' : 'Carbon budget: ' }), text));
  if (over) el.dataset.over = '1';
  return el;
}

// ---- run page: phases, upstream, alternatives (from runs/carbon)
export function phasesTable(phases) {
  if (!phases || !phases.length) return h('p.muted', {}, 'No phases logged. Mark them with ', h('code', { text: 'gt_phase_begin' }), ', ',
    h('code', { text: 'with run.phase("inference")' }), ' or ', h('code', { text: 'greentrack run --phase NAME' }), '.');
  return h('table.grid.phases', {},
    h('thead', {}, h('tr', {}, ...['Phase', 'Start', 'Duration', 'Energy', 'CO₂', 'Work', 'CO₂ per 1k work']
      .map((t, i) => h(i >= 2 ? 'th.num' : 'th', { text: t })))),
    h('tbody', {}, ...phases.map((p) => h('tr', { dataset: { phase: p.phase } },
      h('td', { text: p.phase }),
      h('td', { text: fmtTime(p.start_time) }),
      h('td.num', { text: duration((p.end_time - p.start_time) / 1000) }),
      h('td.num', { text: energy(api.num(p.energy_kwh)) }),
      h('td.num', { text: co2(api.num(p.co2_g)) }),
      h('td.num', { text: p.work_count === null || p.work_count === undefined ? '—' : `${sig(api.num(p.work_count), 6)}${p.work_unit ? ' ' + p.work_unit : ''}` }),
      h('td.num.per1k', { text: p.co2_g_per_1k_work === null || p.co2_g_per_1k_work === undefined ? '—' : `${sig(api.num(p.co2_g_per_1k_work), 5)} g` })))));
}

// The upstream box: the base, its CO2 and the chain of runs, each a link.
// 'tags' (the run's tags) names a base trained elsewhere.
export function upstreamBox(up, tags = []) {
  const tag = (k) => { const t = (tags || []).find((x) => x.key === k); return t ? t.value : null; };
  const extCo2 = tag('greentrack.base_co2_kg');
  const extSrc = (up && up.base_source) || tag('greentrack.base_source');
  if (!up && extCo2 === null) return h('p.muted', {}, 'No base declared. A fine-tune names its base with the tag ', h('code', { text: 'greentrack.base_run_id' }), '.');
  const kids = [];
  if (up) {
    const chain = up.chain || [];
    kids.push(h('dl.facts.carbon', {},
      up.base_run_id ? fact('Base run', h('a.base-run', { href: `/runs/${encodeURIComponent(up.base_run_id)}`, text: up.base_run_id })) : null,
      up.base_model ? fact('Base model', h('span.base-model', { text: up.base_model })) : null,
      fact('Upstream CO₂', h('span.upstream-co2', { text: co2(api.num(up.upstream_co2_g)), dataset: { g: String(up.upstream_co2_g) } })),
      fact('Sharing runs', h('span.sharing', { text: String(up.sharing_runs ?? '—') })),
      fact('Amortized', h('span.amortized', { text: co2(api.num(up.amortized_co2_g)), dataset: { g: String(up.amortized_co2_g) } })),
      fact('Method', 'the base’s own CO₂ plus its upstream, recursively; amortized = upstream ÷ the active runs declaring the same base')));
    if (chain.length) {
      kids.push(h('ol.chain', { 'aria-label': 'Upstream chain' }, ...chain.map((id, i) =>
        h('li', {}, h('a', { href: `/runs/${encodeURIComponent(id)}`, text: id }), i === 0 ? h('span.muted', { text: ' (base)' }) : null))));
      if (up.chain_truncated) kids.push(h('p.muted.small', { text: 'The chain goes on past 32 runs; the rest is not counted.' }));
    }
  }
  if (extCo2 !== null) {
    kids.push(h('p.external-base', {}, 'Base trained elsewhere: ', h('strong', { text: co2(Number(extCo2) * 1000) }),
      extSrc ? [' — source: ', h('span', { text: extSrc })] : ' (no greentrack.base_source given)'));
  }
  return h('div.upstream', {}, ...kids);
}

export function alternativesTable(alts) {
  if (!alts || !alts.length) {
    return h('p.muted', {}, 'No alternatives: a run needs a cloud location (', h('code', { text: 'greentrack.cloud_provider' }), ', ',
      h('code', { text: 'greentrack.cloud_region' }), ') or a zone with recorded grid data.');
  }
  return h('table.grid.alternatives', {},
    h('thead', {}, h('tr', {}, h('th', { text: 'Alternative' }), h('th', { text: 'Where / when' }),
      h('th.num', { text: 'Intensity' }), h('th.num', { text: 'CO₂' }), h('th.num', { text: 'Saving' }))),
    h('tbody', {}, ...alts.map((a) => h('tr', { dataset: { kind: a.kind } },
      h('td', { text: a.kind === 'cloud_region' ? 'Cloud region' : a.kind === 'best_window' ? 'Best start within 24 h' : a.kind }),
      h('td', { text: a.kind === 'cloud_region' ? `${a.provider} ${a.region}` : a.kind === 'best_window' ? fmtTime(a.start_time) : '' }),
      h('td.num', { text: a.intensity_g_per_kwh === undefined || a.intensity_g_per_kwh === null ? '—' : `${sig(api.num(a.intensity_g_per_kwh), 4)} g/kWh` }),
      h('td.num', { text: co2(api.num(a.co2_g)) }),
      h('td.num.saving', { text: co2(api.num(a.saving_g)) })))));
}

// The run page's "Green-AI" card: fills 'box' from a runs/carbon answer.
export function renderRunGreen(box, c, tags) {
  box.replaceChildren(
    h('h3', { text: 'Phases' }), h('div#phases', {}, phasesTable(c.phases)),
    h('h3', { text: 'Upstream (what this run builds on)' }), h('div#upstream', {}, upstreamBox(c.upstream, tags)),
    h('h3', { text: 'Alternatives (the same run elsewhere or later)' }), h('div#alternatives', {}, alternativesTable(c.alternatives)));
}

// ---- Hardware tab
export function groupLabel(g) {
  const gpu = g.gpu_model ? `${api.num(g.gpus) || 0}× ${g.gpu_model}` : 'no GPU';
  return `${g.cpu || 'unknown CPU'} · ${gpu}`;
}

export function hardwareTable(groups, metricName) {
  return h('table.grid.hardware', {},
    h('thead', {}, h('tr', {}, ...['CPU', 'GPU', 'GPUs', 'Runs', 'Median energy', 'Median duration', `Median ${metricName || 'metric'}`,
      'Median CO₂', 'Best run'].map((t, i) => h(i >= 2 && i < 8 ? 'th.num' : 'th', { text: t })))),
    h('tbody', {}, ...groups.map((g) => h('tr', {},
      h('td', { text: g.cpu || '—' }), h('td', { text: g.gpu_model || '—' }),
      h('td.num', { text: g.gpus === null || g.gpus === undefined ? '—' : String(g.gpus) }),
      h('td.num', { text: String(g.runs) }),
      h('td.num', { text: energy(api.num(g.median_energy_kwh)) }),
      h('td.num', { text: duration(api.num(g.median_duration_s)) }),
      h('td.num', { text: fmtMetric(api.num(g.median_metric)) }),
      h('td.num.median-co2', { text: co2(api.num(g.median_co2_g)) }),
      h('td', {}, g.best_run_id ? h('a', { href: `/runs/${encodeURIComponent(g.best_run_id)}`, text: g.best_run_id.slice(0, 8) }) : '—')))));
}

// The Hardware tab's panel: {el, load(metric), destroy()}. The chart is a
// uPlot bar chart of the groups' median CO2 (lowest first, as the server
// sorts them).
export function hardwarePanel(expId, { signal } = {}) {
  const body = h('div.hw-body', {}, h('p.muted', { text: 'Loading…' }));
  const el = h('section.card.hardware-panel#hardware', { 'aria-label': 'Hardware', dataset: { state: 'loading' } },
    h('h2', { text: 'Hardware: which machine does this work cheapest' }), body);
  let chart = null;
  const destroy = () => { if (chart) { chart.destroy(); chart = null; } };
  async function load(metric, direction) {
    if (!metric) {
      destroy();
      el.dataset.state = 'empty';
      body.replaceChildren(h('p.muted', { text: 'No run in this experiment has logged a metric yet.' }));
      return;
    }
    el.dataset.state = 'loading';
    let r;
    try { r = await hardware(expId, metric, direction, { signal }); } catch (e) {
      if (signal && signal.aborted) return;
      destroy();
      el.dataset.state = 'error';
      body.replaceChildren(h('p.muted', { text: `Hardware groups are unavailable: ${e.message}` }));
      return;
    }
    const groups = r.groups || [];
    destroy();
    if (!groups.length) {
      el.dataset.state = 'empty';
      body.replaceChildren(h('p.muted', {}, 'No run has energy and host tags (', h('code', { text: 'greentrack.host.cpu' }), ', ',
        h('code', { text: 'greentrack.host.gpu_model' }), ', ', h('code', { text: 'greentrack.host.gpus' }), ') yet.'));
      return;
    }
    const chartEl = h('div.chart.hw-chart', { dataset: { groups: String(groups.length) } });
    body.replaceChildren(hardwareTable(groups, metric), chartEl,
      h('p.muted.small', { text: 'Runs grouped by the tags greentrack.host.cpu, greentrack.host.gpu_model and greentrack.host.gpus; ' +
        'medians over each group’s runs (an even count takes the mean of the two middle values), lowest median CO₂ first. ' +
        'Source: GET /api/2.0/greentrack/hardware.' }));
    el.dataset.state = 'ok';
    const { barChart } = await import('./charts.js');
    if (signal && signal.aborted) return;
    chart = barChart(chartEl, groups.map(groupLabel), groups.map((g) => api.num(g.median_co2_g)), { yLabel: 'median CO₂ (g)' });
  }
  return { el, load, destroy };
}

// ---- static SVG charts (the report; they need no script to show)
const SVGNS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const k of kids) if (k !== null && k !== undefined) el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return el;
}

// The metric against CO2 (log scale): points [{x: co2_g, y: metric, front,
// label}]. Front points are joined by a line. Returns an <svg>.
export function paretoSvg(points, { metricName = 'metric', width = 640, height = 320 } = {}) {
  const pad = { l: 64, r: 16, t: 16, b: 44 };
  const pts = points.filter((p) => finite(p.x) && finite(p.y)).map((p) => ({ ...p, x: Math.max(p.x, 1e-3) }));
  const svg = s('svg', { xmlns: SVGNS, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'svgchart pareto-svg',
    'aria-label': `${metricName} against CO2 (log scale); the Pareto front is joined by a line` });
  if (!pts.length) { svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'axis' }, 'No run has both the metric and energy.')); return svg; }
  const lx = pts.map((p) => Math.log10(p.x));
  let x0 = Math.floor(Math.min(...lx));
  let x1 = Math.ceil(Math.max(...lx));
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  let y0 = Math.min(...pts.map((p) => p.y));
  let y1 = Math.max(...pts.map((p) => p.y));
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  const span = y1 - y0;
  y0 -= span * 0.05; y1 += span * 0.05;
  const px = (x) => pad.l + ((Math.log10(Math.max(x, 1e-3)) - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const py = (y) => height - pad.b - ((y - y0) / (y1 - y0)) * (height - pad.t - pad.b);
  const g = s('g', {});
  g.append(s('rect', { x: pad.l, y: pad.t, width: width - pad.l - pad.r, height: height - pad.t - pad.b, class: 'frame' }));
  for (let e = x0; e <= x1; e++) {
    const x = px(10 ** e);
    g.append(s('line', { x1: x, x2: x, y1: pad.t, y2: height - pad.b, class: 'gridline' }),
      s('text', { x, y: height - pad.b + 14, 'text-anchor': 'middle', class: 'axis' }, co2(10 ** e)));
  }
  // round ticks: a step of 1, 2 or 5 times a power of ten, about 4 of them
  const raw = (y1 - y0) / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw) || 10 * mag;
  for (let v = Math.ceil(y0 / step) * step; v <= y1 + step * 1e-9; v += step) {
    const y = py(v);
    g.append(s('line', { x1: pad.l, x2: width - pad.r, y1: y, y2: y, class: 'gridline' }),
      s('text', { x: pad.l - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, fmtMetric(Number(v.toPrecision(6)))));
  }
  g.append(s('text', { x: (pad.l + width - pad.r) / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis label' }, 'CO₂ (log scale)'),
    s('text', { x: 14, y: (pad.t + height - pad.b) / 2, 'text-anchor': 'middle', class: 'axis label', transform: `rotate(-90 14 ${(pad.t + height - pad.b) / 2})` }, metricName));
  const front = pts.filter((p) => p.front).sort((a, b) => a.x - b.x);
  if (front.length > 1) g.append(s('polyline', { points: front.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' '), class: 'frontline' }));
  // (past 500 points only the front's dots carry a hover title: the file stays small)
  const titled = pts.length <= 500;
  for (const p of pts) {
    g.append(s('circle', { cx: px(p.x).toFixed(1), cy: py(p.y).toFixed(1), r: p.front ? 4.5 : 3, class: p.front ? 'dot front' : 'dot' },
      titled || p.front ? s('title', {}, `${p.label || ''}: ${metricName} ${fmtMetric(p.y)}, ${co2(p.x)}`) : null));
  }
  svg.append(g);
  svg.dataset.points = String(pts.length);
  svg.dataset.front = String(front.length);
  return svg;
}

// Horizontal bars: [{label, value}] (e.g. the hardware groups' median CO2).
export function barsSvg(items, { width = 640, unit = co2 } = {}) {
  const rowH = 26;
  const pad = { l: 260, r: 90, t: 6, b: 6 };
  const height = pad.t + pad.b + rowH * Math.max(1, items.length);
  const svg = s('svg', { xmlns: SVGNS, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'svgchart bars-svg' });
  const max = Math.max(1e-9, ...items.map((it) => (finite(it.value) ? it.value : 0)));
  items.forEach((it, i) => {
    const y = pad.t + i * rowH;
    const w = finite(it.value) ? ((width - pad.l - pad.r) * it.value) / max : 0;
    svg.append(s('text', { x: pad.l - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'axis' }, it.label.length > 40 ? it.label.slice(0, 39) + '…' : it.label),
      s('rect', { x: pad.l, y: y + 4, width: Math.max(1, w).toFixed(1), height: rowH - 8, class: 'bar' }),
      s('text', { x: pad.l + w + 6, y: y + rowH / 2 + 4, class: 'axis' }, unit(it.value)));
  });
  return svg;
}

function fact(k, v) {
  return h('div', {}, h('dt', { text: k }), h('dd', {}, v));
}
