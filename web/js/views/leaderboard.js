// SPDX-License-Identifier: MIT
// /experiments/<id>?metric=&dir=max|min&filter=&sort=&order=asc|desc&cost=&upstream=&tab=
// The experiment's home: runs ranked by metric per kg CO2 (the server's
// leaderboard), a virtually scrolled table (10,000 rows stay smooth),
// sortable columns, the MLflow filter language with inline errors, run
// selection for Compare, "Download CSV" of every matching run, and the
// Pareto chart (CO2 against the metric) beside it. Green-AI decisions
// (js/green.js): cost=training|inference|total and upstream=none|amortized|
// full re-rank the runs (the server's leaderboard), the carbon budget bar,
// a Hardware tab (?tab=hardware) and a link to the printable report.
import * as api from '../api.js';
import { h, co2, energy, duration, metric as fmtMetric, sig, estimatedBadge, time } from '../fmt.js';
import { paretoChart, tooltip } from '../charts.js';
import { schedulePanel } from '../schedule.js';
import { budgetBar, experimentFromList, hardwarePanel } from '../green.js';

export const name = 'leaderboard';
const ROW_H = 32;       // px, fixed (see .vtable tr in app.css)
const OVERSCAN = 8;
const POLL_MS = 10000;
const LOWER_IS_BETTER = /(loss|err|error|mse|mae|rmse|perplexity|ppl|wer|cer|latency|time)/i;

const COLUMNS = [
  { key: 'rank', label: 'Rank', num: true, first: 'asc', cls: 'rank' },
  { key: 'run_name', label: 'Run', first: 'asc', cls: 'name' },
  { key: 'status', label: 'Status', first: 'asc', cls: 'status' },
  { key: 'metric_value', label: null, num: true, cls: 'metric' },
  { key: 'co2_g', label: 'CO₂', num: true, first: 'asc', cls: 'co2' },
  { key: 'energy_kwh', label: 'Energy', num: true, first: 'asc', cls: 'energy' },
  { key: 'score', label: null, num: true, cls: 'score' },
  { key: 'duration_s', label: 'Duration', num: true, first: 'asc', cls: 'dur' },
];

export function pickMetric(keys) {
  const lower = keys.map((k) => k.toLowerCase());
  for (const want of ['acc', 'accuracy']) {
    const i = lower.indexOf(want);
    if (i >= 0) return keys[i];
  }
  const i = lower.findIndex((k) => /(^|[._/-])(acc|accuracy)$/.test(k));
  if (i >= 0) return keys[i];
  return keys[0] || null;
}

export async function mount(root, ctx) {
  const expId = ctx.params.id;
  const q = ctx.query;
  const state = {
    metric: q.get('metric') || null,
    dir: q.get('dir') || null,
    filter: q.get('filter') || '',
    sort: q.get('sort') || 'rank',
    order: q.get('order') || null,
    rows: [],       // as the server ranked them
    view: [],       // sorted for display
    total: 0,
    selected: new Set((q.get('sel') || '').split(',').filter(Boolean)),
    keys: [],
    cost: ['training', 'inference', 'total'].includes(q.get('cost')) ? q.get('cost') : 'total',
    upstream: ['none', 'amortized', 'full'].includes(q.get('upstream')) ? q.get('upstream') : 'none',
    tab: q.get('tab') === 'hardware' ? 'hardware' : 'leaderboard',
  };
  let disposed = false;
  let chart = null;
  let pollTimer = null;

  // ---- skeleton
  const title = h('h1', { text: `Experiment ${expId}` });
  const metricSel = h('select#metric', { 'aria-label': 'Metric' });
  const dirSel = h('select#direction', { 'aria-label': 'Better is' },
    h('option', { value: 'max', text: 'higher is better' }), h('option', { value: 'min', text: 'lower is better' }));
  const filterIn = h('input#filter.filter', {
    type: 'text', spellcheck: 'false', autocomplete: 'off', 'aria-label': 'Filter runs',
    'aria-describedby': 'filter-error',
    placeholder: 'Filter, e.g. metrics.acc > 0.9 and params.lr = "0.01"', value: state.filter,
  });
  const filterErr = h('div#filter-error.filter-error', { role: 'alert', hidden: true });
  const applyBtn = h('button', { type: 'submit', text: 'Apply' });
  const filterForm = h('form.filterbar', { onsubmit: (ev) => { ev.preventDefault(); applyFilter(); } },
    filterIn, applyBtn);
  const costSel = h('select#cost', { 'aria-label': 'Cost counted', title: 'Which CO₂ the score counts' },
    h('option', { value: 'total', text: 'cost: total' }), h('option', { value: 'training', text: 'cost: training' }),
    h('option', { value: 'inference', text: 'cost: inference per 1M work' }));
  costSel.value = state.cost;
  const upstreamSel = h('select#upstream', { 'aria-label': 'Upstream CO₂', title: 'CO₂ of the pretrained base added to each run' },
    h('option', { value: 'none', text: 'upstream: none' }), h('option', { value: 'amortized', text: 'upstream: amortized' }),
    h('option', { value: 'full', text: 'upstream: full' }));
  upstreamSel.value = state.upstream;
  const reportLink = h('a#report-link.buttonlike', { href: `/experiments/${encodeURIComponent(expId)}/report`, text: 'Green-AI report' });
  const budgetSlot = h('div#budget.budget-slot');
  const tabLb = h('button#tab-leaderboard.tab', { type: 'button', role: 'tab', 'aria-controls': 'panel-leaderboard', text: 'Leaderboard', onclick: () => setTab('leaderboard') });
  const tabHw = h('button#tab-hardware.tab', { type: 'button', role: 'tab', 'aria-controls': 'panel-hardware', text: 'Hardware', onclick: () => setTab('hardware') });
  const compareBtn = h('button#compare-btn', { type: 'button', disabled: true, text: 'Compare', onclick: () => openCompare() });
  const csvBtn = h('button#csv-btn', { type: 'button', text: 'Download CSV', onclick: () => downloadCsv() });
  const summary = h('div.summary.muted', { 'aria-live': 'polite' });
  const thead = h('thead');
  const tbody = h('tbody');
  const table = h('table.grid.vtable#leaderboard', { 'aria-rowcount': '0' }, thead, tbody);
  const scroller = h('div.vscroll', { tabindex: '-1' }, table);
  const chartBox = h('div.chart#pareto', { 'aria-label': 'Pareto chart: CO2 against the metric' });
  const chartNote = h('p.muted.small', { text: 'Each dot is a run; the line joins the Pareto front (no run is both better and cleaner). Click a dot to open its run.' });

  // with auth on: who may read, edit or manage it (the admin page)
  const permLink = h('a.ghostlink#permissions-link', {
    href: `/admin?${new URLSearchParams({ experiment: expId })}`, text: 'Permissions', hidden: true,
  });
  if (ctx.session) {
    ctx.session.current().then((s) => { permLink.hidden = !(s.auth_enabled && s.user); }).catch(() => {});
  }
  const lbPanel = h('div.tabpanel#panel-leaderboard', { role: 'tabpanel', 'aria-labelledby': 'tab-leaderboard' },
    h('div.filterwrap', {}, filterForm, filterErr),
    h('div.lb-layout', {},
      h('section.card.lb-table', { 'aria-label': 'Leaderboard' }, summary, scroller),
      h('section.card.lb-chart', { 'aria-label': 'Pareto chart' }, h('h2', { text: 'CO₂ vs metric' }), chartBox, chartNote)));
  const hw = hardwarePanel(expId, { signal: ctx.signal });
  const hwPanel = h('div.tabpanel#panel-hardware', { role: 'tabpanel', 'aria-labelledby': 'tab-hardware' }, hw.el);
  root.append(
    h('div.toolbar', {}, title,
      h('label.inline', {}, 'Metric ', metricSel), dirSel, costSel, upstreamSel,
      h('span.spacer'), permLink, reportLink, compareBtn, csvBtn),
    budgetSlot,
    h('div.tabs', { role: 'tablist', 'aria-label': 'Experiment views' }, tabLb, tabHw),
    lbPanel, hwPanel);
  // When to start the next run: the grid forecast for the runs' zone.
  const schedule = schedulePanel(expId, { signal: ctx.signal });
  lbPanel.append(schedule.el);

  // The carbon budget (experiment tag greentrack.budget_co2_kg), when set.
  experimentFromList(expId, { signal: ctx.signal }).then((e) => {
    if (disposed) return;
    const bar = budgetBar(e);
    if (bar) budgetSlot.replaceChildren(bar);
  }).catch(() => {});

  let hwKey = null; // the (metric, direction) the Hardware tab shows
  function setTab(tab, { push = true } = {}) {
    state.tab = tab;
    const isHw = tab === 'hardware';
    tabLb.setAttribute('aria-selected', String(!isHw));
    tabHw.setAttribute('aria-selected', String(isHw));
    lbPanel.hidden = isHw;
    hwPanel.hidden = !isHw;
    if (push) ctx.setQuery({ tab: isHw ? 'hardware' : null }, { replace: false });
    const key = `${state.metric}\u0000${state.dir}`;
    if (isHw && hwKey !== key) { hwKey = key; hw.load(state.metric, state.dir); }
    if (!isHw) renderBody(true);
  }
  function updateReportLink() {
    const p = new URLSearchParams();
    if (state.metric) p.set('metric', state.metric);
    if (state.dir) p.set('dir', state.dir);
    reportLink.href = `/experiments/${encodeURIComponent(expId)}/report${p.toString() ? '?' + p : ''}`;
  }

  // ---- data
  const expReq = api.getExperiment(expId);
  const expP = expReq.catch(() => null);
  if (!state.metric) {
    // (an unknown experiment fails here, with the server's message)
    const [, r] = await Promise.all([expReq, api.searchRuns({ experiment_ids: [expId], max_results: 100 }, { signal: ctx.signal })]);
    state.keys = metricKeys(r.runs || []);
    state.metric = pickMetric(state.keys);
  } else {
    api.searchRuns({ experiment_ids: [expId], max_results: 100 }, { signal: ctx.signal })
      .then((r) => { state.keys = metricKeys(r.runs || []); fillMetricSel(); }).catch(() => {});
  }
  if (!state.dir) state.dir = state.metric && LOWER_IS_BETTER.test(state.metric) ? 'min' : 'max';
  expP.then((x) => {
    const nm = x && x.experiment ? x.experiment.name : `Experiment ${expId}`;
    title.textContent = nm;
    ctx.crumbs([{ text: 'Experiments', href: '/experiments' }, { text: nm }]);
  });
  ctx.crumbs([{ text: 'Experiments', href: '/experiments' }, { text: `Experiment ${expId}` }]);
  fillMetricSel();
  dirSel.value = state.dir;

  function fillMetricSel() {
    const keys = state.keys.slice();
    if (state.metric && !keys.includes(state.metric)) keys.unshift(state.metric);
    metricSel.replaceChildren(...(keys.length ? keys : ['']).map((k) => h('option', { value: k, text: k || '(no metrics)' })));
    metricSel.value = state.metric || '';
  }
  metricSel.addEventListener('change', () => {
    state.metric = metricSel.value;
    state.dir = LOWER_IS_BETTER.test(state.metric) ? 'min' : 'max';
    dirSel.value = state.dir;
    ctx.setQuery({ metric: state.metric, dir: state.dir }, { replace: false });
    updateReportLink();
    if (state.tab === 'hardware') setTab('hardware', { push: false });
    reload();
  });
  dirSel.addEventListener('change', () => {
    state.dir = dirSel.value;
    ctx.setQuery({ dir: state.dir }, { replace: false });
    updateReportLink();
    if (state.tab === 'hardware') setTab('hardware', { push: false });
    reload();
  });
  costSel.addEventListener('change', () => {
    state.cost = costSel.value;
    ctx.setQuery({ cost: state.cost === 'total' ? null : state.cost }, { replace: false });
    reload();
  });
  upstreamSel.addEventListener('change', () => {
    state.upstream = upstreamSel.value;
    ctx.setQuery({ upstream: state.upstream === 'none' ? null : state.upstream }, { replace: false });
    reload();
  });

  // (the defaults are left out, so a server without issue 18 still answers)
  function params() {
    return {
      experiment_id: expId, metric: state.metric, direction: state.dir, filter: state.filter || undefined,
      cost: state.cost === 'total' ? undefined : state.cost, upstream: state.upstream === 'none' ? undefined : state.upstream,
    };
  }

  async function fetchAll(signal) {
    // One request answers up to 50,000 rows; the server ranks them all anyway.
    return api.leaderboardAll(params(), { pageSize: 50000, signal });
  }

  let loadCtrl = null;
  async function reload({ quiet = false } = {}) {
    if (!state.metric) {
      summary.textContent = 'No run in this experiment has logged a metric yet.';
      renderHead();
      setRows([], 0);
      ctx.ready();
      return;
    }
    if (loadCtrl) loadCtrl.abort();
    loadCtrl = new AbortController();
    const signal = loadCtrl.signal;
    ctx.signal.addEventListener('abort', () => loadCtrl && loadCtrl.abort(), { once: true });
    if (!quiet) table.setAttribute('aria-busy', 'true');
    try {
      const { rows, total } = await fetchAll(signal);
      if (disposed) return;
      setError(null);
      setRows(rows, total);
      table.removeAttribute('aria-busy');
      ctx.ready();
    } catch (e) {
      if (signal.aborted || disposed) return;
      table.removeAttribute('aria-busy');
      if (e instanceof api.ApiError && e.status === 400) setError(e.message);
      else setError(`Could not load the leaderboard: ${e.message}`);
      ctx.ready();
    }
  }

  function setError(msg) {
    filterErr.hidden = !msg;
    filterErr.textContent = msg || '';
    if (msg) filterIn.setAttribute('aria-invalid', 'true');
    else filterIn.removeAttribute('aria-invalid');
  }

  function applyFilter() {
    const f = filterIn.value.trim();
    state.filter = f;
    ctx.setQuery({ filter: f }, { replace: false });
    reload();
  }

  function setRows(rows, total) {
    state.rows = rows;
    state.total = total;
    for (const id of [...state.selected]) if (!rows.some((r) => r.run_id === id)) state.selected.delete(id);
    sortRows();
    renderHead();
    renderSummary();
    renderBody(true);
    renderChart();
    updateCompare();
    schedulePoll();
  }

  function renderSummary() {
    const scored = state.rows.filter((r) => r.score !== null);
    const front = scored.filter((r) => r.pareto).length;
    const gsum = state.rows.reduce((a, r) => a + (r.co2_g || 0), 0);
    const ksum = state.rows.reduce((a, r) => a + (r.energy_kwh || 0), 0);
    const running = state.rows.filter((r) => r.status === 'RUNNING').length;
    summary.replaceChildren(
      h('span#row-count', { text: `${state.total.toLocaleString('en-US')} run${state.total === 1 ? '' : 's'}` }),
      state.filter ? ' match the filter' : '',
      ` · ${scored.length.toLocaleString('en-US')} ranked · ${front} on the Pareto front · ${co2(gsum)} CO₂ · ${energy(ksum)}`,
      running ? ` · ${running} running` : '',
      basis() ? h('span#score-basis', { text: ` · scored by ${basis()}` }) : null);
  }

  // What cost= and upstream= change in the score, in words ('' for the defaults).
  function basis() {
    const parts = [];
    if (state.cost === 'inference') parts.push('kg CO₂ per 1M work units of the inference phases (runs without inference work unranked)');
    if (state.cost === 'training') parts.push('training CO₂ (the run’s less its inference phases)');
    if (state.upstream !== 'none' && state.cost !== 'inference') parts.push(`CO₂ with the ${state.upstream === 'full' ? 'full' : 'amortized'} upstream of its base added`);
    return parts.join('; ');
  }

  // ---- sorting
  function colDefault(key) {
    if (key === 'metric_value' || key === 'score') return state.dir === 'max' ? 'desc' : 'asc';
    const c = COLUMNS.find((x) => x.key === key);
    return (c && c.first) || 'asc';
  }
  function sortRows() {
    const key = COLUMNS.some((c) => c.key === state.sort) ? state.sort : 'rank';
    const order = state.order || colDefault(key);
    const sign = order === 'desc' ? -1 : 1;
    const rows = state.rows.slice();
    if (key === 'rank' && order === 'asc') { state.view = rows; return; }
    const isStr = key === 'run_name' || key === 'status';
    rows.sort((a, b) => {
      const x = a[key];
      const y = b[key];
      const xn = x === null || x === undefined;
      const yn = y === null || y === undefined;
      if (xn || yn) return xn === yn ? 0 : xn ? 1 : -1; // missing values last
      if (isStr) return sign * String(x).localeCompare(String(y));
      return sign * (x - y);
    });
    state.view = rows;
  }
  function setSort(key) {
    const cur = state.sort;
    const curOrder = state.order || colDefault(cur);
    if (key === cur) state.order = curOrder === 'asc' ? 'desc' : 'asc';
    else { state.sort = key; state.order = colDefault(key); }
    const isDefault = state.sort === 'rank' && state.order === 'asc';
    ctx.setQuery({ sort: isDefault ? null : state.sort, order: isDefault ? null : state.order });
    sortRows();
    renderHead();
    scroller.scrollTop = 0;
    renderBody(true);
  }

  function renderHead() {
    const sortKey = state.sort;
    const order = state.order || colDefault(sortKey);
    const label = (c) => c.key === 'metric_value' ? (state.metric || 'metric')
      : c.key === 'score' ? `${state.metric || 'metric'} ${state.dir === 'max' ? '/' : '×'} kg CO₂${state.cost === 'inference' ? '/1M' : ''}` : c.label;
    thead.replaceChildren(h('tr', {},
      h('th.sel', {}, h('span.sr-only', { text: 'Select' })),
      ...COLUMNS.map((c) => {
        const active = c.key === sortKey;
        return h('th.' + c.cls + (c.num ? '.num' : ''), {
          'aria-sort': active ? (order === 'asc' ? 'ascending' : 'descending') : 'none', dataset: { key: c.key },
        }, h('button.sortbtn', { type: 'button', onclick: () => setSort(c.key), title: 'Sort by ' + label(c) },
          label(c), h('span.arrow', { 'aria-hidden': 'true', text: active ? (order === 'asc' ? '▲' : '▼') : '' })));
      })));
  }

  // ---- virtual body: a pool of <tr> elements recycled as the table
  // scrolls (only the rows in view exist; their cells are refilled), with
  // spacer rows above and below standing in for the rest.
  let rendered = { start: -1, end: -1 };
  let focusIdx = -1;
  const pool = [];
  const topSpacer = h('tr.spacer', { 'aria-hidden': 'true' });
  const bottomSpacer = h('tr.spacer', { 'aria-hidden': 'true' });
  const emptyRow = h('tr', {}, h('td.empty', { colspan: String(COLUMNS.length + 1) }));

  function makeRow() {
    const tr = h('tr.link', { tabindex: '0' },
      h('td.sel', {}, h('input', { type: 'checkbox', tabindex: '-1' })),
      h('td.num.rank'),
      // (the name gives way to its marks when the column is narrow)
      h('td.name', {}, h('span.namecell', {}, h('a', { tabindex: '-1' }),
        h('span.badge.model', { text: 'model', title: 'has a logged model (MLmodel)' }),
        h('span.badge.pf', { text: 'front', title: 'on the Pareto front' }))),
      h('td.status', {}, h('span.badge')),
      h('td.num.metric'),
      h('td.num.co2', {}, estimatedBadge(), h('span')),
      h('td.num.energy'),
      h('td.num.score'),
      h('td.num.dur'));
    const c = tr.cells;
    tr._f = {
      cb: c[0].firstChild, rank: c[1], name: c[2], a: c[2].firstChild.firstChild, model: c[2].firstChild.children[1],
      pf: c[2].firstChild.lastChild, status: c[3].firstChild,
      metric: c[4], est: c[5].firstChild, co2: c[5].lastChild, energy: c[6], score: c[7], dur: c[8],
    };
    return tr;
  }

  function fillRow(tr, r, i) {
    const f = tr._f;
    const sel = state.selected.has(r.run_id);
    tr.dataset.i = String(i);
    tr.setAttribute('aria-rowindex', String(i + 2));
    tr.classList.toggle('selected', sel);
    tr.setAttribute('aria-selected', sel ? 'true' : 'false');
    f.cb.checked = sel;
    if (tr.dataset.runId === r.run_id && tr._r === r) return;
    tr._r = r;
    tr.dataset.runId = r.run_id;
    tr.classList.toggle('front', !!r.pareto);
    f.cb.setAttribute('aria-label', `Select ${r.run_name}`);
    f.rank.textContent = r.rank === null ? '—' : String(r.rank);
    f.name.title = r.run_name;
    f.a.href = `/runs/${r.run_id}`;
    f.a.textContent = r.run_name || r.run_id;
    f.pf.hidden = !r.pareto;
    f.model.hidden = !r.has_model;
    f.status.textContent = r.status;
    f.status.className = 'badge status-' + String(r.status).toLowerCase();
    f.metric.textContent = fmtMetric(r.metric_value);
    f.est.hidden = !r.estimated;
    f.co2.textContent = co2(r.co2_g);
    f.co2.parentNode.title = [
      r.upstream_co2_g ? `upstream added: ${co2(r.upstream_co2_g)}` : '',
      r.inference_co2_g_per_1k_work !== undefined && r.inference_co2_g_per_1k_work !== null ? `inference: ${sig(r.inference_co2_g_per_1k_work, 4)} g CO₂ per 1k work` : '',
    ].filter(Boolean).join('; ');
    f.energy.textContent = energy(r.energy_kwh);
    f.score.textContent = r.score === null ? '—' : sig(r.score, 4);
    f.dur.textContent = duration(r.duration_s);
    f.dur.title = 'started ' + time(r.start_time);
  }

  function renderBody(force = false) {
    const n = state.view.length;
    table.setAttribute('aria-rowcount', String(n + 1));
    const viewH = scroller.clientHeight || 600;
    const first = Math.floor(scroller.scrollTop / ROW_H);
    const start = Math.max(0, Math.min(first - OVERSCAN, n - Math.ceil(viewH / ROW_H) - 2 * OVERSCAN));
    const end = Math.min(n, first + Math.ceil(viewH / ROW_H) + OVERSCAN);
    const s0 = Math.max(0, start);
    if (!force && s0 === rendered.start && end === rendered.end) return;
    const active = document.activeElement;
    rendered = { start: s0, end };
    const count = Math.max(0, end - s0);
    while (pool.length < count) pool.push(makeRow());
    for (let k = 0; k < count; k++) fillRow(pool[k], state.view[s0 + k], s0 + k);
    topSpacer.style.height = `${s0 * ROW_H}px`;
    bottomSpacer.style.height = `${(n - end) * ROW_H}px`;
    const want = [topSpacer, ...pool.slice(0, count), bottomSpacer];
    if (!n) {
      emptyRow.firstChild.textContent = state.filter ? 'No run matches the filter.' : 'No runs.';
      want.push(emptyRow);
    }
    const kids = tbody.children;
    let same = kids.length === want.length;
    for (let k = 0; same && k < want.length; k++) same = kids[k] === want[k];
    if (!same) tbody.replaceChildren(...want);
    // keep keyboard focus on the same run when rows are recycled
    if (active && active.parentNode === tbody && active._r) {
      if (focusIdx >= s0 && focusIdx < end) {
        const tr = pool[focusIdx - s0];
        if (tr !== active || document.activeElement !== tr) tr.focus({ preventScroll: true });
      } else {
        scroller.focus({ preventScroll: true });
      }
    }
  }

  function rowOf(ev) {
    const tr = ev.target.closest('tr');
    return tr && tr._r && tr.parentNode === tbody ? tr : null;
  }
  tbody.addEventListener('click', (ev) => {
    const tr = rowOf(ev);
    if (!tr) return;
    const r = tr._r;
    if (ev.target.matches('input[type=checkbox]')) { toggle(r.run_id, ev.target.checked); return; }
    if (ev.target.closest('a')) return; // the app's link handler navigates
    ctx.navigate(`/runs/${r.run_id}`);
  });
  tbody.addEventListener('keydown', (ev) => {
    const tr = rowOf(ev);
    if (tr && ev.target === tr) onRowKey(ev, Number(tr.dataset.i), tr._r);
  });
  tbody.addEventListener('focusin', (ev) => {
    const tr = rowOf(ev);
    if (tr) focusIdx = Number(tr.dataset.i);
  });

  function toggle(id, on) {
    if (on) state.selected.add(id); else state.selected.delete(id);
    for (const tr of tbody.children) {
      if (tr._r && tr._r.run_id === id) fillRow(tr, tr._r, Number(tr.dataset.i));
    }
    updateCompare();
  }

  function updateCompare() {
    const n = state.selected.size;
    compareBtn.disabled = n < 2;
    compareBtn.textContent = n ? `Compare (${n})` : 'Compare';
    compareBtn.title = n < 2 ? 'Select two or more runs (checkbox, or Space on a row)' : '';
    ctx.setQuery({ sel: n ? [...state.selected].join(',') : null });
  }

  function openCompare() {
    if (state.selected.size < 2) return;
    const p = new URLSearchParams({ runs: [...state.selected].join(',') });
    if (state.metric) p.set('metric', state.metric);
    ctx.navigate('/compare?' + p.toString().replace(/%2C/g, ','));
  }

  function focusRow(i) {
    const n = state.view.length;
    if (!n) return;
    i = Math.max(0, Math.min(n - 1, i));
    focusIdx = i;
    const top = i * ROW_H;
    const headH = thead.offsetHeight || ROW_H;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + ROW_H > scroller.scrollTop + scroller.clientHeight - headH) {
      scroller.scrollTop = top + ROW_H - scroller.clientHeight + headH;
    }
    renderBody();
    const tr = tbody.querySelector(`tr[data-i="${i}"]`);
    if (tr) tr.focus({ preventScroll: true });
  }

  function onRowKey(ev, i, r) {
    const page = Math.max(1, Math.floor(scroller.clientHeight / ROW_H) - 2);
    switch (ev.key) {
      case 'Enter': ev.preventDefault(); ctx.navigate(`/runs/${r.run_id}`); break;
      case ' ': ev.preventDefault(); toggle(r.run_id, !state.selected.has(r.run_id)); break;
      case 'ArrowDown': ev.preventDefault(); focusRow(i + 1); break;
      case 'ArrowUp': ev.preventDefault(); focusRow(i - 1); break;
      case 'PageDown': ev.preventDefault(); focusRow(i + page); break;
      case 'PageUp': ev.preventDefault(); focusRow(i - page); break;
      case 'Home': ev.preventDefault(); focusRow(0); break;
      case 'End': ev.preventDefault(); focusRow(state.view.length - 1); break;
      default:
    }
  }

  let raf = 0;
  scroller.addEventListener('scroll', () => {
    if (raf) return;
    raf = requestAnimationFrame(() => { raf = 0; renderBody(); });
  }, { passive: true });
  const ro = new ResizeObserver(() => renderBody());
  ro.observe(scroller);

  // ---- chart
  function renderChart() {
    if (chart) { chart.destroy(); chart = null; }
    chartBox.replaceChildren();
    const scored = state.rows.filter((r) => r.score !== null);
    if (!scored.length) {
      chartBox.dataset.points = '0';
      chartBox.dataset.front = '0';
      chartBox.append(h('p.muted.empty', { text: 'No run has both the metric and energy yet.' }));
      return;
    }
    chart = paretoChart(chartBox, scored, {
      metricName: state.metric, tooltip, onOpen: (r) => ctx.navigate(`/runs/${r.run_id}`),
    });
    window.__gtPareto = chart;
  }

  // ---- CSV: every run matching the filter, paged through the API.
  async function downloadCsv() {
    const label = csvBtn.textContent;
    csvBtn.disabled = true;
    try {
      const { rows } = await api.leaderboardAll(params(), {
        pageSize: 5000, signal: ctx.signal,
        onPage: (got, total) => { csvBtn.textContent = `Exporting ${got.length}/${total}…`; },
      });
      // (with cost= or upstream=, the Green-AI columns the server adds)
      const green = state.cost !== 'total' || state.upstream !== 'none';
      const head = ['rank', 'run_id', 'run_name', 'status', 'start_time', 'duration_s', state.metric,
        'co2_g', 'energy_kwh', 'score', 'pareto', 'estimated'];
      if (green) head.push('upstream_co2_g', 'inference_co2_g_per_1k_work');
      const lines = [head.map(csvCell).join(',')];
      for (const r of rows) {
        const cells = [r.rank, r.run_id, r.run_name, r.status, new Date(r.start_time).toISOString(), r.duration_s,
          r.metric_value, r.co2_g, r.energy_kwh, r.score, r.pareto, r.estimated];
        if (green) cells.push(r.upstream_co2_g, r.inference_co2_g_per_1k_work);
        lines.push(cells.map(csvCell).join(','));
      }
      const blob = new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
      const url = URL.createObjectURL(blob);
      const base = (title.textContent || 'experiment').replace(/[^\w.-]+/g, '_');
      const a = h('a', { href: url, download: `${base}-leaderboard.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      if (!ctx.signal.aborted) setError(`CSV export failed: ${e.message}`);
    } finally {
      csvBtn.disabled = false;
      csvBtn.textContent = label;
    }
  }

  // ---- live: re-rank while runs are running
  function schedulePoll() {
    clearTimeout(pollTimer);
    const running = state.rows.some((r) => r.status === 'RUNNING');
    ctx.live(running);
    if (running && !disposed) {
      pollTimer = setTimeout(() => {
        if (document.hidden) { schedulePoll(); return; }
        reload({ quiet: true });
      }, POLL_MS);
    }
  }

  renderHead();
  updateReportLink();
  setTab(state.tab, { push: false });
  await reload();
  return () => {
    disposed = true;
    clearTimeout(pollTimer);
    ro.disconnect();
    hw.destroy();
    if (loadCtrl) loadCtrl.abort();
    if (chart) chart.destroy();
    schedule.destroy();
    tooltip.hide();
  };
}

function metricKeys(runs) {
  const s = new Set();
  for (const r of runs) for (const m of (r.data && r.data.metrics) || []) if (!m.key.startsWith('greentrack.')) s.add(m.key);
  return [...s].sort();
}

function csvCell(v) {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
