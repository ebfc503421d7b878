// SPDX-License-Identifier: MIT
// /runs/<run_id>?x=step|time|rel&smooth=0..0.99&keys=a,b
// A run: status and times, metric charts (several keys; step, wall time or
// relative time on x; EMA smoothing), energy over time per component, the
// carbon summary with where each number comes from, its phases (CO2 per
// unit of work), upstream chain and what-if alternatives, params and tags, the
// model versions registered from it (links to their models), and the
// run's files (js/artifacts.js; ?artifact=<path> opens one). While the
// run is RUNNING the page polls and new points appear by themselves.
import * as api from '../api.js';
import { h, co2, energy, duration, time, metric as fmtMetric, sig, statusBadge, estimatedBadge, debounce } from '../fmt.js';
import { lineChart, ema, theme } from '../charts.js';
import { renderRunGreen } from '../green.js';

export const name = 'run';
const POLL_MS = 2000;
const MAX_POINTS = 2000; // per chart; the server downsamples (get-history-bulk-interval)
const MAX_DEFAULT_KEYS = 12;

export function userKeys(run) {
  return ((run.data && run.data.metrics) || []).map((m) => m.key).filter((k) => !k.startsWith('greentrack.')).sort();
}

// Points from get-history-bulk-interval → uPlot columns for the x mode.
export function toColumns(points, xMode, startTime) {
  const pts = points.slice();
  if (xMode === 'step') pts.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
  else pts.sort((a, b) => a.timestamp - b.timestamp || a.step - b.step);
  const xs = new Array(pts.length);
  const ys = new Array(pts.length);
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i];
    xs[i] = xMode === 'step' ? p.step : xMode === 'time' ? p.timestamp / 1000 : (p.timestamp - startTime) / 1000;
    const v = api.num(p.value);
    ys[i] = Number.isFinite(v) ? v : null;
  }
  return [xs, ys];
}

export async function mount(root, ctx) {
  const runId = ctx.params.id.toLowerCase();
  const q = ctx.query;
  // The artifacts panel loads beside the run, off the charts' path.
  const artifactsMod = import('../artifacts.js');
  const st = {
    x: ['step', 'time', 'rel'].includes(q.get('x')) ? q.get('x') : 'step',
    smooth: Math.min(0.99, Math.max(0, Number(q.get('smooth')) || 0)),
    keys: q.get('keys') ? q.get('keys').split(',').filter(Boolean) : null,
    run: null,
  };
  let disposed = false;
  let timer = null;
  const charts = new Map(); // key -> { u, el, cols }

  let run = (await api.getRun(runId, { signal: ctx.signal })).run;
  st.run = run;
  const info = run.info;
  const expP = api.getExperiment(info.experiment_id).catch(() => null);
  const setCrumbs = (expName) => ctx.crumbs([
    { text: 'Experiments', href: '/experiments' },
    { text: expName || `Experiment ${info.experiment_id}`, href: `/experiments/${info.experiment_id}` },
    { text: info.run_name || runId },
  ]);
  setCrumbs();
  expP.then((x) => x && x.experiment && !disposed && setCrumbs(x.experiment.name));

  // ---- skeleton
  const head = h('div.runhead');
  const registeredBox = h('div#registered.registered', { hidden: true });
  const xSel = h('select#xmode', { 'aria-label': 'X axis' },
    h('option', { value: 'step', text: 'x: step' }), h('option', { value: 'time', text: 'x: wall time' }),
    h('option', { value: 'rel', text: 'x: time since start' }));
  xSel.value = st.x;
  const smoothIn = h('input#smooth', { type: 'range', min: '0', max: '0.99', step: '0.01', value: String(st.smooth), 'aria-label': 'Smoothing' });
  const smoothOut = h('output', { for: 'smooth', text: st.smooth.toFixed(2) });
  const chips = h('div.chips', { role: 'group', 'aria-label': 'Metrics shown' });
  const grid = h('div.chartgrid#metric-charts');
  const energyBox = h('div.chart#energy-chart');
  const carbonBox = h('div#carbon');
  const greenBox = h('div#green', { dataset: { state: 'loading' } }, h('p.muted', { text: 'Loading…' }));
  const paramsBox = h('div#params');
  const tagsBox = h('div#tags');
  const artifactsSlot = h('div');
  let artifacts = null;
  root.append(
    head,
    registeredBox,
    h('section.card', { 'aria-label': 'Metrics' },
      h('div.toolbar', {}, h('h2', { text: 'Metrics' }), h('span.spacer'), xSel,
        h('label.inline', {}, 'Smoothing ', smoothIn, smoothOut)),
      chips, grid),
    h('div.two', {},
      h('section.card', { 'aria-label': 'Energy over time' }, h('h2', { text: 'Energy over time' }), energyBox),
      h('section.card', { 'aria-label': 'Carbon' }, h('h2', { text: 'Carbon' }), carbonBox)),
    h('section.card.green', { 'aria-label': 'Green-AI' }, h('h2', { text: 'Phases, upstream and alternatives' }), greenBox),
    h('div.two', {},
      h('section.card', { 'aria-label': 'Parameters' }, h('h2', { text: 'Parameters' }), paramsBox),
      h('section.card', { 'aria-label': 'Tags' }, h('h2', { text: 'Tags' }), tagsBox)),
    artifactsSlot);

  function renderHead() {
    const i = run.info;
    const end = i.end_time || (i.status === 'RUNNING' ? Date.now() : null);
    const latest = ((run.data && run.data.metrics) || []);
    const co2kg = latest.find((m) => m.key === 'greentrack.co2_kg');
    const kwh = latest.find((m) => m.key === 'greentrack.energy_kwh');
    head.replaceChildren(
      h('h1', {}, i.run_name || runId, ' ', statusBadge(i.status)),
      h('dl.facts', {},
        fact('Run ID', h('code', { text: i.run_id })),
        fact('Started', time(i.start_time)),
        fact('Ended', i.end_time ? time(i.end_time) : '—'),
        fact('Duration', end ? duration((end - i.start_time) / 1000) : '—'),
        fact('User', i.user_id || '—'),
        fact('CO₂', co2kg ? co2(api.num(co2kg.value) * 1000) : '—'),
        fact('Energy', kwh ? energy(api.num(kwh.value)) : '—')));
  }

  function renderKV(box, obj, { skipSystem = false } = {}) {
    const items = (obj || []).filter((x) => !(skipSystem && x.key.startsWith('mlflow.'))).sort((a, b) => a.key.localeCompare(b.key));
    if (!items.length) { box.replaceChildren(h('p.muted', { text: 'None.' })); return; }
    box.replaceChildren(h('table.grid.kv', {}, h('tbody', {}, ...items.map((x) =>
      h('tr', {}, h('th', { text: x.key }), h('td', { text: x.value }))))));
  }

  // ---- metric charts
  function shownKeys() {
    const all = userKeys(run);
    if (st.keys) return st.keys.filter((k) => all.includes(k));
    return all.slice(0, MAX_DEFAULT_KEYS);
  }

  function renderChips() {
    const all = userKeys(run);
    const shown = new Set(shownKeys());
    chips.replaceChildren(...all.map((k) => h('label.chip', {},
      h('input', { type: 'checkbox', checked: shown.has(k), value: k, onchange: onChip }), k)));
    if (!all.length) chips.replaceChildren(h('p.muted', { text: 'No metrics logged yet.' }));
  }
  function onChip() {
    st.keys = [...chips.querySelectorAll('input:checked')].map((c) => c.value);
    const all = userKeys(run);
    const isDefault = st.keys.length === Math.min(all.length, MAX_DEFAULT_KEYS) && st.keys.every((k, i) => all[i] === k);
    ctx.setQuery({ keys: isDefault ? null : st.keys.join(',') });
    syncCharts();
  }

  async function fetchColumns(key) {
    const r = await api.historyInterval([runId], key, MAX_POINTS, { signal: ctx.signal });
    return toColumns(r.metrics || [], st.x, run.info.start_time);
  }

  function chartData(cols) {
    const [xs, ys] = cols;
    return st.smooth ? [xs, ys, ema(ys, st.smooth)] : [xs, ys];
  }

  function buildChart(key, cols) {
    const old = charts.get(key);
    const el = old ? old.el : h('div.chart.metric-chart', { dataset: { key } });
    if (old && old.u) old.u.destroy();
    el.replaceChildren();
    const t = theme();
    const color = t.palette[userKeys(run).indexOf(key) % t.palette.length];
    const series = st.smooth
      ? [{ label: key + ' (raw)', color, alpha: 0.3, width: 1 }, { label: key, color }]
      : [{ label: key, color }];
    const titleEl = h('h3', { text: key });
    el.append(titleEl);
    const plotEl = h('div');
    el.append(plotEl);
    const u = lineChart(plotEl, { xMode: st.x, series, data: chartData(cols), height: 200 });
    el.dataset.points = String(cols[0].length);
    charts.set(key, { u, el, cols });
    return el;
  }

  async function syncCharts() {
    const keys = shownKeys();
    for (const [k, c] of charts) {
      if (!keys.includes(k)) { c.u && c.u.destroy(); c.el.remove(); charts.delete(k); }
    }
    const cols = await Promise.all(keys.map((k) => (charts.has(k) ? null : fetchColumns(k))));
    if (disposed) return;
    keys.forEach((k, i) => { if (cols[i]) buildChart(k, cols[i]); });
    grid.replaceChildren(...keys.map((k) => charts.get(k).el));
    if (!keys.length) grid.replaceChildren(h('p.muted', { text: userKeys(run).length ? 'Pick a metric above.' : '' }));
  }

  async function refreshCharts() {
    const keys = [...charts.keys()];
    const cols = await Promise.all(keys.map((k) => fetchColumns(k)));
    if (disposed) return;
    keys.forEach((k, i) => {
      const c = charts.get(k);
      if (!c) return;
      c.cols = cols[i];
      c.u.setData(chartData(cols[i]));
      c.el.dataset.points = String(cols[i][0].length);
    });
  }

  function rebuildAll() {
    for (const [k, c] of charts) buildChart(k, c.cols);
  }

  xSel.addEventListener('change', async () => {
    st.x = xSel.value;
    ctx.setQuery({ x: st.x === 'step' ? null : st.x });
    const keys = [...charts.keys()];
    const cols = await Promise.all(keys.map((k) => fetchColumns(k)));
    keys.forEach((k, i) => buildChart(k, cols[i]));
  });
  smoothIn.addEventListener('input', debounce(() => {
    st.smooth = Number(smoothIn.value);
    smoothOut.textContent = st.smooth.toFixed(2);
    ctx.setQuery({ smooth: st.smooth ? st.smooth : null });
    rebuildAll();
  }, 30));

  // ---- energy and carbon
  let energyChart = null;
  let energyCount = -1;
  async function renderEnergy() {
    let samples;
    try { samples = await api.runEnergy(runId, { signal: ctx.signal }); } catch (e) {
      if (e.status === 404 && e.code === 'ENDPOINT_NOT_FOUND') { energyBox.replaceChildren(h('p.muted', { text: 'This server has no energy history endpoint.' })); return; }
      throw e;
    }
    if (disposed || samples.length === energyCount) return;
    energyCount = samples.length;
    if (energyChart) { energyChart.destroy(); energyChart = null; }
    energyBox.replaceChildren();
    energyBox.dataset.samples = String(samples.length);
    if (!samples.length) { energyBox.append(h('p.muted', { text: 'No energy logged for this run.' })); return; }
    samples.sort((a, b) => a.start_time - b.start_time);
    const comps = [['cpu_energy_j', 'CPU'], ['gpu_energy_j', 'GPU'], ['ram_energy_j', 'RAM'], ['other_energy_j', 'Other']]
      .filter(([k]) => samples.some((s) => api.num(s[k]) > 0));
    const xs = [];
    const cols = comps.map(() => []);
    for (const s of samples) {
      const dt = Math.max(1e-3, (s.end_time - s.start_time) / 1000);
      xs.push(s.start_time / 1000);
      comps.forEach(([k], i) => cols[i].push(api.num(s[k]) / dt));
    }
    // the last window ends at its end_time
    xs.push(samples[samples.length - 1].end_time / 1000);
    comps.forEach((c, i) => cols[i].push(cols[i][cols[i].length - 1]));
    const plotEl = h('div');
    energyBox.append(plotEl, h('p.muted.small', { text: 'Average power per sample window (W), by component.' }));
    energyChart = lineChart(plotEl, {
      xMode: 'time', stepped: true, height: 220, yLabel: 'W',
      series: comps.map(([, label], i) => ({ label, color: theme().palette[[0, 2, 4, 6][i]] })),
      data: [xs, ...cols],
    });
  }

  async function renderCarbon() {
    let c;
    try { c = await api.runCarbon(runId, { signal: ctx.signal }); } catch (e) {
      carbonBox.replaceChildren(h('p.muted', { text: e.status === 404 ? 'No carbon data.' : `Could not load: ${e.message}` }));
      greenBox.dataset.state = 'error';
      greenBox.replaceChildren(h('p.muted', { text: 'No carbon data.' }));
      return;
    }
    if (disposed) return;
    renderRunGreen(greenBox, c, run.data && run.data.tags);
    greenBox.dataset.state = 'ok';
    if (!c.samples) { carbonBox.replaceChildren(h('p.muted', { text: 'No energy logged for this run.' })); return; }
    const loc = c.location || {};
    const where = loc.known
      ? [loc.cloud_provider && `${loc.cloud_provider}${loc.cloud_region ? ' ' + loc.cloud_region : ''}`,
        loc.region, loc.country].filter(Boolean).join(', ')
      : 'unknown (world average)';
    const m = c.methods || {};
    carbonBox.replaceChildren(h('dl.facts.carbon', {},
      fact('CO₂', h('span', {}, h('strong', { text: co2(c.co2_g) }), c.estimated ? [' ', estimatedBadge()] : null)),
      fact('IT energy', `${energy(c.energy_kwh)} (CPU ${energy(c.cpu_kwh)}, GPU ${energy(c.gpu_kwh)}, RAM ${energy(c.ram_kwh)}${c.other_kwh ? ', other ' + energy(c.other_kwh) : ''})`),
      fact('Facility energy', `${energy(c.facility_energy_kwh)} (IT × PUE)`),
      fact('PUE', `${sig(c.pue)} — ${c.pue_source || '?'}`),
      fact('Grid intensity', `${sig(c.intensity_g_per_kwh)} g/kWh — ${c.intensity_source || '?'}`),
      fact('Location', loc.known ? `${where}${loc.table_source ? ' — ' + loc.table_source : ''}` : where),
      fact('Methods', `CPU ${m.cpu || '?'} · GPU ${m.gpu || '?'} · RAM ${m.ram || '?'}`),
      fact('Scope', c.scope || '?'),
      fact('Samples', String(c.samples)),
      fact('Duration measured', duration(c.duration_s))));
  }

  // ---- the model versions registered from this run (the registry's
  // model-versions/search with run_id = '<id>'); nothing when there are
  // none or the server has no registry.
  async function renderRegistered() {
    let vs;
    try {
      vs = await api.searchModelVersionsAll(`run_id = ${api.filterString(runId)}`, { signal: ctx.signal });
    } catch (e) {
      if (!disposed && !ctx.signal.aborted) console.warn('model versions', e);
      return;
    }
    if (disposed || !vs.length) return;
    const { modelHref, stageBadge } = await import('./models.js');
    if (disposed) return;
    vs.sort((a, b) => a.name.localeCompare(b.name) || Number(a.version) - Number(b.version));
    registeredBox.replaceChildren(h('span.muted', { text: `Registered as model version${vs.length === 1 ? '' : 's'}: ` }),
      ...vs.map((v) => h('span.ver', { dataset: { name: v.name, version: v.version } },
        h('a.model-version', { href: modelHref(v.name, v.version), text: `${v.name} v${v.version}` }), stageBadge(v.current_stage))));
    registeredBox.hidden = false;
  }

  // ---- live
  async function poll() {
    if (disposed) return;
    try {
      if (!document.hidden) {
        const before = userKeys(run).join(',');
        const wasRunning = run.info.status === 'RUNNING';
        run = (await api.getRun(runId, { signal: ctx.signal })).run;
        if (disposed) return;
        if (wasRunning && run.info.status !== 'RUNNING' && artifacts) artifacts.refresh();
        renderHead();
        renderKV(paramsBox, run.data.params);
        renderKV(tagsBox, run.data.tags, { skipSystem: true });
        if (userKeys(run).join(',') !== before) { renderChips(); await syncCharts(); }
        await Promise.all([refreshCharts(), renderEnergy(), renderCarbon()]);
      }
    } catch (e) {
      if (disposed) return;
      console.warn('poll failed', e);
    }
    schedule();
  }
  function schedule() {
    clearTimeout(timer);
    const running = run.info.status === 'RUNNING';
    ctx.live(running);
    if (running && !disposed) timer = setTimeout(poll, POLL_MS);
  }

  renderHead();
  renderKV(paramsBox, run.data && run.data.params);
  renderKV(tagsBox, run.data && run.data.tags, { skipSystem: true });
  renderChips();
  artifactsMod.then((m) => {
    if (disposed) return;
    artifacts = m.artifactsPanel(run, {
      signal: ctx.signal, selected: q.get('artifact'), onSelect: (p) => ctx.setQuery({ artifact: p }),
    });
    artifactsSlot.replaceWith(artifacts.el);
  }).catch((e) => { if (!disposed) console.warn(e); });
  await syncCharts();
  ctx.ready();
  Promise.all([renderEnergy(), renderCarbon(), renderRegistered()]).catch((e) => { if (!disposed) console.warn(e); });
  schedule();
  return () => {
    disposed = true;
    clearTimeout(timer);
    for (const c of charts.values()) c.u && c.u.destroy();
    if (energyChart) energyChart.destroy();
    if (artifacts) artifacts.destroy();
  };
}

function fact(k, v) {
  return h('div', {}, h('dt', { text: k }), h('dd', {}, v));
}
