// SPDX-License-Identifier: MIT
// /experiments/<id>/report?metric=&dir=max|min
// The experiment's Green-AI report, printable: total energy and CO2, the
// best metric per kg CO2, the Pareto front (a static SVG chart), phases and
// the CO2 per unit of work, the upstream (pretrained bases) share, hardware
// groups, potential savings (other regions, better start times) and the
// carbon budget. Each figure names its method and the API it comes from.
// "Download as HTML" saves the report as one self-contained file (inline
// CSS, SVG charts, no script, nothing fetched) that opens offline.
import * as api from '../api.js';
import { h, co2, energy, sig, metric as fmtMetric, time as fmtTime } from '../fmt.js';
import * as green from '../green.js';
import { pickMetric } from './leaderboard.js';

export const name = 'report';
const LOWER_IS_BETTER = /(loss|err|error|mse|mae|rmse|perplexity|ppl|wer|cer|latency|time)/i;
const MAX_CARBON_RUNS = 100; // runs/carbon calls for phases and alternatives
const GT = '/api/2.0/greentrack/';

// The report's own stylesheet, scoped to .gt-report: the page and the
// downloaded file use the same rules (it travels inside the report).
export const REPORT_CSS = `
.gt-report { --fg: #17201b; --muted: #5d6b63; --line: #dfe4e1; --accent: #1f7a47; --front: #d9480f; --card: #fff; --bad: #a61b1b;
  color: var(--fg); background: var(--card); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  max-width: 980px; margin: 0 auto; padding: 1.5rem 2rem; border: 1px solid var(--line); border-radius: 8px; }
.gt-report h1 { font-size: 1.5rem; margin: 0 0 .25rem; display: block; }
.gt-report h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; padding-bottom: .2rem; border-bottom: 1px solid var(--line); }
.gt-report section { break-inside: avoid; }
.gt-report .r-meta, .gt-report .method { color: var(--muted); font-size: .82rem; }
.gt-report .method { margin: .4rem 0 0; }
.gt-report .method b { color: var(--fg); font-weight: 600; }
.gt-report table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
.gt-report th, .gt-report td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); font-size: .88rem; }
.gt-report th { color: var(--muted); font-weight: 600; }
.gt-report .num { text-align: right; font-variant-numeric: tabular-nums; }
.gt-report .figs { display: flex; flex-wrap: wrap; gap: .5rem 2.2rem; margin: .3rem 0; }
.gt-report .fig dt { color: var(--muted); font-size: .78rem; }
.gt-report .fig dd { margin: 0; font-size: 1.25rem; font-weight: 650; }
.gt-report a { color: var(--accent); }
.gt-report .r-actions { display: flex; gap: .5rem; margin: .6rem 0 0; }
.gt-report svg.svgchart { max-width: 100%; height: auto; display: block; margin: .4rem 0; }
.gt-report .svgchart .frame { fill: none; stroke: var(--line); }
.gt-report .svgchart .gridline { stroke: var(--line); stroke-width: 1; }
.gt-report .svgchart .axis { fill: var(--muted); font: 11px system-ui, sans-serif; }
.gt-report .svgchart .dot { fill: rgba(31, 122, 71, .55); }
.gt-report .svgchart .dot.front { fill: var(--front); }
.gt-report .svgchart .frontline { fill: none; stroke: var(--front); stroke-width: 2; }
.gt-report .svgchart .bar { fill: var(--accent); }
.gt-report .budgetbar { display: flex; align-items: center; gap: .7rem; }
.gt-report .budget-track { display: inline-block; width: 16rem; height: .8rem; border-radius: .4rem; background: var(--line); overflow: hidden; }
.gt-report .budget-fill { display: block; height: 100%; background: var(--accent); }
.gt-report .budgetbar[data-over] .budget-fill { background: var(--bad); }
.gt-report .budgetbar[data-over] strong { color: var(--bad); }
.gt-report .muted { color: var(--muted); }
@media print {
  .gt-report { border: 0; padding: 0; max-width: none; }
  .gt-report .no-print { display: none !important; }
}
`;

// Runs fn over items, 'n' at a time; the results in order.
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i], i); } };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

function fig(label, value, cls) {
  return h('div.fig' + (cls ? '.' + cls : ''), {}, h('dt', { text: label }), h('dd', { text: value }));
}

// "Method: … Source: …" under a figure.
function method(how, source) {
  return h('p.method', {}, h('b', { text: 'Method: ' }), how, ' ', h('b', { text: 'Source: ' }), source);
}

function section(id, title, ...kids) {
  return h('section#' + id, { 'aria-label': title }, h('h2', { text: title }), ...kids);
}

export async function mount(root, ctx) {
  const expId = ctx.params.id;
  const q = ctx.query;
  const signal = ctx.signal;
  const exp = (await api.getExperiment(expId)).experiment;
  const expName = exp.name || `Experiment ${expId}`;
  ctx.crumbs([{ text: 'Experiments', href: '/experiments' }, { text: expName, href: `/experiments/${encodeURIComponent(expId)}` },
    { text: 'Green-AI report' }]);

  // the metric: ?metric=, else the one the leaderboard opens with
  let metric = q.get('metric');
  if (!metric) {
    const r = await api.searchRuns({ experiment_ids: [expId], max_results: 100 }, { signal });
    const keys = new Set();
    for (const run of r.runs || []) for (const m of (run.data && run.data.metrics) || []) if (!m.key.startsWith('greentrack.')) keys.add(m.key);
    metric = pickMetric([...keys].sort());
  }
  const dir = q.get('dir') === 'min' || q.get('dir') === 'max' ? q.get('dir') : metric && LOWER_IS_BETTER.test(metric) ? 'min' : 'max';
  const lbParams = { experiment_id: expId, metric, direction: dir };

  // (the runs' carbon is fetched as soon as the leaderboard names them,
  // beside the one-experiment summary, which reads every run's carbon)
  const boardP = metric ? api.leaderboardAll(lbParams, { pageSize: 50000, signal }) : Promise.resolve({ rows: [], total: 0 });
  const carbonsP = boardP.then((b) => pool(b.rows.slice(0, MAX_CARBON_RUNS).map((r) => r.run_id), 6,
    (id) => api.runCarbon(id, { signal }).catch(() => null)));
  const [summary, board, boardUp, hw, carbons] = await Promise.all([
    green.experimentSummary(expId, { signal }),
    boardP,
    metric ? api.leaderboardAll({ ...lbParams, upstream: 'amortized' }, { pageSize: 50000, signal }).catch((e) => ({ error: e })) : { rows: [] },
    metric ? green.hardware(expId, metric, dir, { signal }).catch((e) => ({ error: e })) : { groups: [] },
    carbonsP,
  ]);
  const rows = board.rows;
  const byId = new Map(rows.map((r) => [r.run_id, r]));

  const generated = new Date();
  const origin = location.origin;
  const src = (p) => h('code', { text: `GET ${GT}${p}` });
  const sum = summary || {};

  // ---- totals
  const totals = section('r-totals', 'Energy and CO₂',
    h('dl.figs', {},
      fig('Runs', String(sum.runs ?? rows.length)),
      fig('Energy (IT)', energy(api.num(sum.energy_kwh)), 'r-kwh'),
      fig('CO₂', co2(api.num(sum.co2_g)), 'r-co2')),
    method('the sum over the experiment’s active runs of each run’s IT energy (no PUE) and CO₂ = PUE × Σ energy × the grid intensity of its time and place.',
      src(`experiments/summary?experiment_id=${expId}`)));

  // ---- best metric per kg
  const best = rows.find((r) => r.rank === 1) || null;
  const perKg = (r) => (r && r.metric_value !== null && r.co2_g !== null ? api.num(r.metric_value) / (Math.max(api.num(r.co2_g), 1e-3) / 1000) : null);
  const bestSec = section('r-best', 'Best metric per kg CO₂',
    best ? h('dl.figs', {},
      fig(`${metric} per kg CO₂`, sig(perKg(best), 4), 'r-perkg'),
      fig('Run', best.run_name || best.run_id),
      fig(metric, fmtMetric(api.num(best.metric_value))),
      fig('CO₂', co2(api.num(best.co2_g))))
      : h('p.muted', { text: 'No run has both the metric and energy yet.' }),
    best ? h('p', {}, 'Run: ', h('a', { href: `${origin}/runs/${best.run_id}`, text: best.run_id })) : null,
    method(`the leaderboard’s first run for ${metric || 'the metric'} (${dir === 'max' ? 'higher' : 'lower'} is better): score = ${dir === 'max' ? 'metric ÷ kg CO₂' : 'metric × kg CO₂'}, CO₂ counted as at least 1 mg; shown here as metric ÷ kg CO₂.`,
      src(`leaderboard?experiment_id=${expId}&metric=${metric || ''}&direction=${dir}`)));

  // ---- Pareto front
  const scored = rows.filter((r) => r.score !== null && r.co2_g !== null && r.metric_value !== null);
  const front = scored.filter((r) => r.pareto).sort((a, b) => a.co2_g - b.co2_g);
  const paretoSec = section('r-pareto', 'Pareto front',
    green.paretoSvg(scored.map((r) => ({ x: api.num(r.co2_g), y: api.num(r.metric_value), front: !!r.pareto, label: r.run_name || r.run_id })), { metricName: metric || 'metric' }),
    front.length ? h('table.r-front', {}, h('thead', {}, h('tr', {}, h('th', { text: 'Run' }), h('th.num', { text: metric }), h('th.num', { text: 'CO₂' }), h('th.num', { text: 'Energy' }))),
      h('tbody', {}, ...front.map((r) => h('tr', {}, h('td', {}, h('a', { href: `${origin}/runs/${r.run_id}`, text: r.run_name || r.run_id })),
        h('td.num', { text: fmtMetric(api.num(r.metric_value)) }), h('td.num', { text: co2(api.num(r.co2_g)) }), h('td.num', { text: energy(api.num(r.energy_kwh)) })))))
      : null,
    method(`each dot is a run (CO₂ on a log scale against ${metric || 'the metric'}); the line joins the runs no other run beats on both the metric and CO₂ (${front.length} of ${scored.length}).`,
      src(`leaderboard?experiment_id=${expId}&metric=${metric || ''}&direction=${dir}`)));

  // ---- phases, summed by phase name over the runs' runs/carbon
  const phaseAgg = new Map();
  carbons.forEach((c) => {
    for (const p of (c && c.phases) || []) {
      const a = phaseAgg.get(p.phase) || { phase: p.phase, runs: new Set(), kwh: 0, g: 0, work: 0, workedG: 0, units: new Set() };
      a.runs.add(c.run_id);
      a.kwh += api.num(p.energy_kwh) || 0;
      a.g += api.num(p.co2_g) || 0;
      if (p.work_count !== null && p.work_count !== undefined) {
        a.work += api.num(p.work_count) || 0;
        a.workedG += api.num(p.co2_g) || 0;
        a.units.add(p.work_unit || '');
      }
      phaseAgg.set(p.phase, a);
    }
  });
  const phases = [...phaseAgg.values()].sort((a, b) => a.phase.localeCompare(b.phase));
  const capped = rows.length > MAX_CARBON_RUNS ? ` (the first ${MAX_CARBON_RUNS} runs of the leaderboard)` : '';
  const phasesSec = section('r-phases', 'Phases and the cost per unit of work',
    phases.length ? h('table.r-phase-table', {}, h('thead', {}, h('tr', {}, ...['Phase', 'Runs', 'Energy', 'CO₂', 'Work', 'CO₂ per 1k work']
      .map((t, i) => h(i ? 'th.num' : 'th', { text: t })))),
    h('tbody', {}, ...phases.map((a) => {
      const unit = a.units.size === 1 ? [...a.units][0] : '';
      const per1k = a.work > 0 && a.units.size === 1 ? (a.workedG / a.work) * 1000 : null;
      return h('tr', { dataset: { phase: a.phase } }, h('td', { text: a.phase }), h('td.num', { text: String(a.runs.size) }),
        h('td.num', { text: energy(a.kwh) }), h('td.num', { text: co2(a.g) }),
        h('td.num', { text: a.units.size ? `${sig(a.work, 6)}${unit ? ' ' + unit : ''}` : '—' }),
        h('td.num.per1k', { text: per1k === null ? '—' : `${sig(per1k, 5)} g` }));
    })))
      : h('p.muted', { text: 'No run of this experiment logged phases.' }),
    method(`each energy sample is split across a run’s phases pro rata by time overlap; CO₂ per 1k work = the phase’s CO₂ ÷ its work count × 1000, summed by phase name over the runs${capped}.`,
      src('runs/carbon?run_id=… (phases)')));

  // ---- upstream share
  let upSec;
  if (boardUp.error) {
    upSec = section('r-upstream', 'Upstream share (pretrained bases)', h('p.muted', { text: `Unavailable: ${boardUp.error.message}` }));
  } else {
    const upG = (boardUp.rows || []).reduce((s, r) => s + (api.num(r.upstream_co2_g) || 0), 0);
    const own = api.num(sum.co2_g) || rows.reduce((s, r) => s + (api.num(r.co2_g) || 0), 0);
    const share = own + upG > 0 ? upG / (own + upG) : 0;
    const bases = new Map();
    carbons.forEach((c) => {
      const u = c && c.upstream;
      if (u && u.base_run_id) bases.set(u.base_run_id, u);
    });
    upSec = section('r-upstream', 'Upstream share (pretrained bases)',
      h('dl.figs', {}, fig('Upstream CO₂ (amortized)', co2(upG), 'r-upstream-g'), fig('Share of the total', `${sig(share * 100, 3)}%`, 'r-upstream-share'),
        fig('Runs with a base', String((boardUp.rows || []).filter((r) => api.num(r.upstream_co2_g) > 0).length))),
      bases.size ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'Base run' }), h('th.num', { text: 'Upstream CO₂' }), h('th.num', { text: 'Sharing runs' }), h('th.num', { text: 'Amortized each' }))),
        h('tbody', {}, ...[...bases.values()].map((u) => h('tr', {}, h('td', {}, h('a', { href: `${origin}/runs/${u.base_run_id}`, text: (byId.get(u.base_run_id) || {}).run_name || u.base_run_id })),
          h('td.num', { text: co2(api.num(u.upstream_co2_g)) }), h('td.num', { text: String(u.sharing_runs) }), h('td.num', { text: co2(api.num(u.amortized_co2_g)) })))))
        : null,
      method('a run names its base with the tag greentrack.base_run_id (or greentrack.base_co2_kg and greentrack.base_source for a model trained elsewhere); upstream = the base’s CO₂ plus its own upstream, recursively; amortized = upstream ÷ the active runs sharing the base; share = amortized upstream ÷ (the runs’ own CO₂ + amortized upstream).',
        src(`leaderboard?experiment_id=${expId}&upstream=amortized`)));
  }

  // ---- hardware
  const groups = (hw && hw.groups) || [];
  const hwSec = section('r-hardware', 'Hardware groups',
    hw.error ? h('p.muted', { text: `Unavailable: ${hw.error.message}` })
      : groups.length ? [green.hardwareTable(groups, metric), green.barsSvg(groups.map((g) => ({ label: green.groupLabel(g), value: api.num(g.median_co2_g) })))]
        : h('p.muted', { text: 'No run has host tags (greentrack.host.cpu, greentrack.host.gpu_model, greentrack.host.gpus) yet.' }),
    method('runs grouped by their host tags; medians over each group (an even count takes the mean of the two middle values), lowest median CO₂ first.',
      src(`hardware?experiment_id=${expId}&metric=${metric || ''}&direction=${dir}`)));

  // ---- potential savings
  const alts = [];
  carbons.forEach((c) => {
    if (!c || !c.alternatives || !c.alternatives.length) return;
    const bestAlt = c.alternatives.reduce((a, b) => ((api.num(b.saving_g) || 0) > (api.num(a.saving_g) || 0) ? b : a));
    if ((api.num(bestAlt.saving_g) || 0) > 0) alts.push({ run: byId.get(c.run_id) || { run_id: c.run_id }, alt: bestAlt });
  });
  alts.sort((a, b) => api.num(b.alt.saving_g) - api.num(a.alt.saving_g));
  const savingsSec = section('r-savings', 'Potential savings',
    h('dl.figs', {}, fig('Potential saving', sum.potential_saving_g === undefined ? '—' : co2(api.num(sum.potential_saving_g)), 'r-saving')),
    alts.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'Run' }), h('th', { text: 'Best alternative' }), h('th.num', { text: 'CO₂ instead' }), h('th.num', { text: 'Saving' }))),
      h('tbody', {}, ...alts.slice(0, 20).map(({ run, alt }) => h('tr', {},
        h('td', {}, h('a', { href: `${origin}/runs/${run.run_id}`, text: run.run_name || run.run_id })),
        h('td', { text: alt.kind === 'cloud_region' ? `cloud region ${alt.provider} ${alt.region}` : alt.kind === 'best_window' ? `start at ${fmtTime(alt.start_time)}` : alt.kind }),
        h('td.num', { text: co2(api.num(alt.co2_g)) }), h('td.num', { text: co2(api.num(alt.saving_g)) })))))
      : null,
    method('for each run, the largest saving among its alternatives: the three cleanest regions of its cloud provider in the compiled-in table (with the run’s PUE), and the cleanest start within 24 h of its actual start from recorded grid data; summed over the runs.',
      src(`experiments/summary?experiment_id=${expId} (potential_saving_g) and runs/carbon (alternatives)`)));

  // ---- budget
  const bar = green.budgetBar(summary);
  const budgetSec = section('r-budget', 'Carbon budget',
    bar || h('p.muted', {}, 'No budget set. Set the experiment tag ', h('code', { text: 'greentrack.budget_co2_kg' }), '.'),
    method('used = the experiment’s CO₂ in kg; fraction = used ÷ the experiment tag greentrack.budget_co2_kg.',
      src(`experiments/summary?experiment_id=${expId}`)));

  const printBtn = h('button#print-report', { type: 'button', text: 'Print', onclick: () => window.print() });
  const dlBtn = h('button#download-report', { type: 'button', text: 'Download as HTML', onclick: () => download() });
  const report = h('article.gt-report#report', { dataset: { experimentId: expId } },
    h('style', { text: REPORT_CSS }),
    h('h1', { text: `Green-AI report: ${expName}` }),
    h('p.r-meta', { text: `Experiment ${expId} · metric ${metric || '—'} (${dir === 'max' ? 'higher' : 'lower'} is better) · generated ${fmtTime(generated.getTime())} from ${origin}` }),
    h('div.r-actions.no-print', {}, printBtn, dlBtn),
    totals, bestSec, paretoSec, phasesSec, upSec, hwSec, savingsSec, budgetSec);
  root.append(report);

  // The report as one HTML file: the article without its buttons, its
  // links absolute, inline CSS; no script, nothing to fetch.
  function download() {
    const clone = report.cloneNode(true);
    for (const el of clone.querySelectorAll('.no-print')) el.remove();
    const doc = '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
      '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
      `<title>${escapeText(`Green-AI report: ${expName}`)}</title>\n` +
      '<style>body { margin: 0; padding: 1rem; background: #f7f8f7; }</style>\n</head>\n<body>\n' +
      clone.outerHTML + '\n</body>\n</html>\n';
    const url = URL.createObjectURL(new Blob([doc], { type: 'text/html;charset=utf-8' }));
    const a = h('a', { href: url, download: `${expName.replace(/[^\w.-]+/g, '_')}-green-ai-report.html` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  ctx.ready();
  return () => {};
}

// Text for an HTML text position (the serializer escapes the rest).
function escapeText(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
