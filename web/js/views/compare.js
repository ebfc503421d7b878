// SPDX-License-Identifier: MIT
// /compare?runs=a,b,c&metric=&x=step|rel&smooth=&diff=1
// Selected runs side by side: their curves of one metric overlaid (one
// request, get-history-bulk-interval with every run id), a summary row
// per run, and params side by side with differing rows highlighted.
import * as api from '../api.js';
import { h, co2, energy, duration, metric as fmtMetric, statusBadge, debounce } from '../fmt.js';
import { lineChart, ema, theme, uPlot } from '../charts.js';
import { pickMetric } from './leaderboard.js';
import { userKeys } from './run.js';

export const name = 'compare';
const MAX_POINTS = 2000;
const POLL_MS = 3000;

export async function mount(root, ctx) {
  const q = ctx.query;
  const ids = [...new Set((q.get('runs') || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))].slice(0, 100);
  const st = {
    metric: q.get('metric'),
    x: q.get('x') === 'rel' ? 'rel' : 'step',
    smooth: Math.min(0.99, Math.max(0, Number(q.get('smooth')) || 0)),
    diff: q.get('diff') === '1',
  };
  ctx.crumbs([{ text: 'Experiments', href: '/experiments' }, { text: `Compare ${ids.length} runs` }]);
  if (ids.length < 1) {
    root.append(h('div.empty', {}, h('h1', { text: 'Compare runs' }),
      h('p', { text: 'Select two or more runs in an experiment\'s leaderboard, then press Compare.' })));
    ctx.ready();
    return () => {};
  }
  let runs = await Promise.all(ids.map((id) => api.getRun(id, { signal: ctx.signal }).then((r) => r.run)));
  const expId = runs[0].info.experiment_id;
  if (runs.every((r) => r.info.experiment_id === expId)) {
    ctx.crumbs([{ text: 'Experiments', href: '/experiments' }, { text: `Experiment ${expId}`, href: `/experiments/${expId}` }, { text: `Compare ${runs.length} runs` }]);
    api.getExperiment(expId).then((x) => x && ctx.crumbs([{ text: 'Experiments', href: '/experiments' },
      { text: x.experiment.name, href: `/experiments/${expId}` }, { text: `Compare ${runs.length} runs` }])).catch(() => {});
  }
  const allKeys = () => [...new Set(runs.flatMap(userKeys))].sort();
  if (!st.metric || !allKeys().includes(st.metric)) st.metric = pickMetric(allKeys());
  const colors = () => { const t = theme(); return runs.map((r, i) => t.palette[i % t.palette.length]); };

  const metricSel = h('select#compare-metric', { 'aria-label': 'Metric' });
  const xSel = h('select#compare-x', { 'aria-label': 'X axis' },
    h('option', { value: 'step', text: 'x: step' }), h('option', { value: 'rel', text: 'x: time since start' }));
  xSel.value = st.x;
  const smoothIn = h('input', { type: 'range', min: '0', max: '0.99', step: '0.01', value: String(st.smooth), 'aria-label': 'Smoothing' });
  const chartBox = h('div.chart#compare-chart');
  const runsBox = h('div#compare-runs');
  const diffCb = h('input', { type: 'checkbox', checked: st.diff });
  const paramsBox = h('div#compare-params');
  root.append(
    h('div.toolbar', {}, h('h1', { text: `Compare ${runs.length} run${runs.length === 1 ? '' : 's'}` })),
    h('section.card', { 'aria-label': 'Runs' }, runsBox),
    h('section.card', { 'aria-label': 'Metric curves' },
      h('div.toolbar', {}, h('h2', { text: 'Curves' }), h('label.inline', {}, 'Metric ', metricSel), h('span.spacer'), xSel,
        h('label.inline', {}, 'Smoothing ', smoothIn)),
      chartBox),
    h('section.card', { 'aria-label': 'Parameters' },
      h('div.toolbar', {}, h('h2', { text: 'Parameters' }), h('span.spacer'),
        h('label.inline', {}, diffCb, ' Only differences')),
      paramsBox));

  function fillMetricSel() {
    const keys = allKeys();
    metricSel.replaceChildren(...keys.map((k) => h('option', { value: k, text: k })));
    if (st.metric) metricSel.value = st.metric;
  }

  function renderRuns() {
    const cs = colors();
    const latest = (r, k) => { const m = ((r.data && r.data.metrics) || []).find((x) => x.key === k); return m ? api.num(m.value) : null; };
    runsBox.replaceChildren(h('table.grid', {},
      h('thead', {}, h('tr', {}, h('th', { text: 'Run' }), h('th', { text: 'Status' }), h('th.num', { text: st.metric || 'metric' }),
        h('th.num', { text: 'CO₂' }), h('th.num', { text: 'Energy' }), h('th.num', { text: 'Duration' }))),
      h('tbody', {}, ...runs.map((r, i) => {
        const end = r.info.end_time || (r.info.status === 'RUNNING' ? Date.now() : null);
        const kg = latest(r, 'greentrack.co2_kg');
        return h('tr', { dataset: { runId: r.info.run_id } },
          h('td', {}, h('span.swatch', { style: `background:${cs[i]}` }), h('a', { href: `/runs/${r.info.run_id}`, text: r.info.run_name || r.info.run_id })),
          h('td', {}, statusBadge(r.info.status)),
          h('td.num', { text: fmtMetric(latest(r, st.metric)) }),
          h('td.num', { text: kg === null ? '—' : co2(kg * 1000) }),
          h('td.num', { text: energy(latest(r, 'greentrack.energy_kwh')) }),
          h('td.num', { text: end ? duration((end - r.info.start_time) / 1000) : '—' }));
      }))));
  }

  function renderParams() {
    const keys = [...new Set(runs.flatMap((r) => ((r.data && r.data.params) || []).map((p) => p.key)))].sort();
    const val = (r, k) => { const p = ((r.data && r.data.params) || []).find((x) => x.key === k); return p ? p.value : undefined; };
    const rows = keys.map((k) => {
      const vs = runs.map((r) => val(r, k));
      return { k, vs, differs: vs.some((v) => v !== vs[0]) };
    });
    const nDiff = rows.filter((r) => r.differs).length;
    const shown = st.diff ? rows.filter((r) => r.differs) : rows;
    const cs = colors();
    paramsBox.replaceChildren(
      h('p.muted.small', { text: `${keys.length} params, ${nDiff} differ.` }),
      h('table.grid.params-compare', {},
        h('thead', {}, h('tr', {}, h('th', { text: 'Param' }), ...runs.map((r, i) => h('th', {},
          h('span.swatch', { style: `background:${cs[i]}` }), r.info.run_name || r.info.run_id)))),
        h('tbody', {}, ...shown.map((row) => h('tr' + (row.differs ? '.diff' : ''), { dataset: { key: row.k } },
          h('th', { text: row.k }),
          ...row.vs.map((v) => h('td' + (v === undefined ? '.missing' : ''), { text: v === undefined ? '—' : v })))))));
  }

  let chart = null;
  let cols = null;
  async function loadCurves() {
    if (!st.metric) { chartBox.replaceChildren(h('p.muted', { text: 'No metrics logged.' })); return; }
    const r = await api.historyInterval(ids, st.metric, MAX_POINTS, { signal: ctx.signal });
    const byRun = new Map(ids.map((id) => [id, []]));
    for (const p of r.metrics || []) if (byRun.has(p.run_id)) byRun.get(p.run_id).push(p);
    cols = runs.map((run) => {
      const pts = byRun.get(run.info.run_id) || [];
      pts.sort((a, b) => (st.x === 'step' ? a.step - b.step || a.timestamp - b.timestamp : a.timestamp - b.timestamp));
      // one point per x: uPlot.join needs distinct x values per series
      const xs = [];
      const ys = [];
      for (const p of pts) {
        const x = st.x === 'step' ? p.step : (p.timestamp - run.info.start_time) / 1000;
        const v = api.num(p.value);
        if (xs.length && xs[xs.length - 1] === x) { ys[ys.length - 1] = Number.isFinite(v) ? v : null; continue; }
        xs.push(x);
        ys.push(Number.isFinite(v) ? v : null);
      }
      return [xs, ys];
    });
    draw();
  }

  function draw() {
    if (chart) { chart.destroy(); chart = null; }
    chartBox.replaceChildren();
    const joined = uPlot.join(cols.map(([xs, ys]) => [xs, st.smooth ? ema(ys, st.smooth) : ys]));
    const cs = colors();
    chart = lineChart(chartBox, {
      xMode: st.x, height: 320, spanGaps: true, data: joined,
      series: runs.map((r, i) => ({ label: r.info.run_name || r.info.run_id, color: cs[i] })),
    });
    chartBox.dataset.series = String(runs.length);
    chartBox.dataset.points = String(cols.reduce((a, c) => a + c[0].length, 0));
  }

  metricSel.addEventListener('change', () => { st.metric = metricSel.value; ctx.setQuery({ metric: st.metric }); renderRuns(); loadCurves(); });
  xSel.addEventListener('change', () => { st.x = xSel.value; ctx.setQuery({ x: st.x === 'step' ? null : st.x }); loadCurves(); });
  smoothIn.addEventListener('input', debounce(() => { st.smooth = Number(smoothIn.value); ctx.setQuery({ smooth: st.smooth || null }); draw(); }, 30));
  diffCb.addEventListener('change', () => { st.diff = diffCb.checked; ctx.setQuery({ diff: st.diff ? '1' : null }); renderParams(); });

  fillMetricSel();
  renderRuns();
  renderParams();
  await loadCurves();
  ctx.ready();

  // live: keep polling while any compared run is running
  let timer = null;
  let disposed = false;
  const schedule = () => {
    const running = runs.some((r) => r.info.status === 'RUNNING');
    ctx.live(running);
    if (running && !disposed) timer = setTimeout(poll, POLL_MS);
  };
  const poll = async () => {
    try {
      if (!document.hidden) {
        runs = await Promise.all(ids.map((id) => api.getRun(id, { signal: ctx.signal }).then((r) => r.run)));
        if (disposed) return;
        renderRuns();
        await loadCurves();
      }
    } catch (e) { if (disposed) return; }
    schedule();
  };
  schedule();
  return () => { disposed = true; clearTimeout(timer); if (chart) chart.destroy(); };
}
