// SPDX-License-Identifier: MIT
// /models/<name>?version=N: a registered model. Its versions in a table
// (version, stage and alias badges, the source run, the metric the model is
// judged by, CO2 and metric per kg CO2, all from greentrack's
// model-versions/carbon), the metric against CO2 across versions (uPlot,
// as the leaderboard's Pareto chart), and the model's description and tags,
// edited through the registry's own calls (registered-models/update,
// set-tag, delete-tag). ?version=N marks that version's row.
import * as api from '../api.js';
import { h, co2, energy, time, ago, metric as fmtMetric, sig, estimatedBadge } from '../fmt.js';
import { versionChart, tooltip } from '../charts.js';
import { stageBadge, aliasBadge } from './models.js';

export const name = 'model';
const CONCURRENCY = 6;
// The registered-model tag that names the metric a model is judged by.
export const METRIC_TAG = 'greentrack.metric';

// Runs fn over items, at most 'limit' at a time; results in order.
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// The metric key most versions are judged by (the column's label).
function mainKey(carbons) {
  const n = new Map();
  for (const c of carbons) {
    const k = c && c.metric && c.metric.key;
    if (k) n.set(k, (n.get(k) || 0) + 1);
  }
  let best = null;
  for (const [k, c] of n) if (!best || c > n.get(best)) best = k;
  return best;
}

export async function mount(root, ctx) {
  const modelName = ctx.params.name;
  const wanted = ctx.query.get('version');
  let disposed = false;
  let chart = null;
  ctx.crumbs([{ text: 'Models', href: '/models' }, { text: modelName }]);

  // ---- skeleton
  const head = h('div.runhead#model-head');
  const summary = h('div.summary.muted', { 'aria-live': 'polite' });
  const thead = h('thead');
  const tbody = h('tbody');
  const table = h('table.grid.versions#versions', {}, thead, tbody);
  const chartBox = h('div.chart#versions-chart', { 'aria-label': 'Chart: the metric against CO2, one dot per version' });
  const chartNote = h('p.muted.small', { text: 'Each dot is a version; the line joins the Pareto front (no version is both better and cleaner). Click a dot to open its source run.' });
  const descBox = h('div#description');
  const tagsBox = h('div#model-tags');
  root.append(
    head,
    h('div.lb-layout.model-layout', {},
      h('section.card.versions-card', { 'aria-label': 'Versions' }, h('h2', { text: 'Versions' }), summary, h('div.tablewrap', {}, table)),
      h('section.card.lb-chart', { 'aria-label': 'CO2 against the metric' }, h('h2', { text: 'CO₂ vs metric' }), chartBox, chartNote)),
    h('div.two', {},
      h('section.card', { 'aria-label': 'Description' }, h('h2', { text: 'Description' }), descBox),
      h('section.card', { 'aria-label': 'Tags' }, h('h2', { text: 'Tags' }), tagsBox)));

  // ---- data
  let model = (await api.getRegisteredModel(modelName, { signal: ctx.signal })).registered_model;

  function aliasesOf(version) {
    return (model.aliases || []).filter((a) => a.version === version).map((a) => a.alias).sort();
  }

  function renderHead() {
    const latest = (model.latest_versions || []).slice().sort((a, b) => Number(b.version) - Number(a.version));
    const aliases = (model.aliases || []).slice().sort((a, b) => a.alias.localeCompare(b.alias));
    head.replaceChildren(
      h('h1', { text: model.name }),
      h('dl.facts', {},
        fact('Created', time(model.creation_timestamp)),
        fact('Last updated', h('span', { text: ago(model.last_updated_timestamp), title: time(model.last_updated_timestamp) })),
        fact('Latest versions', latest.length
          ? h('span.verlist', {}, ...latest.map((v) => h('span.ver', {}, `v${v.version}`, stageBadge(v.current_stage))))
          : 'none'),
        fact('Aliases', aliases.length ? h('span.aliaslist', {}, ...aliases.map((a) => aliasBadge(a.alias, a.version))) : 'none')));
  }

  // ---- versions: the registry's list, then each one's carbon and run name
  let rows = [];
  async function loadVersions() {
    table.setAttribute('aria-busy', 'true');
    const filter = `name = ${api.filterString(modelName)}`;
    const versions = (await api.searchModelVersionsAll(filter, { signal: ctx.signal }))
      .sort((a, b) => Number(b.version) - Number(a.version));
    const carbons = await pool(versions, CONCURRENCY, (v) => api.versionCarbon(modelName, v.version, { signal: ctx.signal })
      .catch((e) => { if (ctx.signal.aborted) throw e; return { error: e.message }; }));
    const runIds = [...new Set(versions.map((v, i) => (carbons[i] && carbons[i].run_id) || v.run_id).filter(Boolean))];
    const runs = await pool(runIds, CONCURRENCY, (id) => api.getRun(id, { signal: ctx.signal })
      .then((r) => r.run.info).catch(() => null));
    const runInfo = new Map(runIds.map((id, i) => [id, runs[i]]));
    if (disposed) return;
    rows = versions.map((v, i) => {
      const c = carbons[i] || {};
      const runId = c.run_id || v.run_id || null;
      const info = runId ? runInfo.get(runId) : null;
      return {
        v, carbon: c.error ? null : c, error: c.error || null, runId,
        runName: info ? info.run_name || runId : runId,
        experimentId: c.experiment_id || (info && info.experiment_id) || null,
      };
    });
    render();
    table.removeAttribute('aria-busy');
  }

  function render() {
    const key = mainKey(rows.map((r) => r.carbon));
    const dir = (rows.find((r) => r.carbon && r.carbon.metric && r.carbon.metric.key === key) || {}).carbon;
    const maximize = !dir || dir.metric.direction !== 'min';
    const label = key || 'metric';
    thead.replaceChildren(h('tr', {},
      h('th.version', { text: 'Version' }), h('th.badges', { text: 'Stage / aliases' }), h('th.run', { text: 'Source run' }),
      h('th.num.metric', { text: label, title: key ? `the metric the model is judged by (${dir.metric.key_source})` : '' }),
      h('th.num.co2', { text: 'CO₂' }), h('th.num.energy', { text: 'Energy' }),
      h('th.num.perkg', { text: `${label} / kg CO₂` }), h('th.created', { text: 'Created' })));
    tbody.replaceChildren(...rows.map((r) => {
      const { v, carbon: c } = r;
      const m = c && c.metric;
      const hasCo2 = c && c.carbon && c.carbon.samples > 0;
      const value = m && m.value !== null && m.value !== undefined ? api.num(m.value) : null;
      const perKg = c && c.metric_per_kg_co2 !== null && c.metric_per_kg_co2 !== undefined ? api.num(c.metric_per_kg_co2) : null;
      const tr = h('tr', {
        dataset: {
          version: v.version, stage: v.current_stage || 'None', runId: r.runId || '',
          metricKey: (m && m.key) || '', metric: value === null ? '' : String(value),
          co2G: hasCo2 ? String(c.carbon.co2_g) : '', perKg: perKg === null ? '' : String(perKg),
        },
        class: wanted === v.version ? 'selected' : null,
        'aria-selected': wanted === v.version ? 'true' : null,
      },
      h('td.version', {}, h('strong', { text: `v${v.version}` })),
      h('td.badges', {}, h('span.badgeline', {}, stageBadge(v.current_stage), ...aliasesOf(v.version).map((a) => aliasBadge(a)))),
      h('td.run', {}, r.runId
        ? h('a', { href: `/runs/${r.runId}`, text: r.runName, title: `run ${r.runId}${r.experimentId ? ' · experiment ' + r.experimentId : ''}` })
        : h('span.muted', { text: '—', title: r.error || 'no source run' })),
      h('td.num.metric', {
        text: value === null ? '—' : fmtMetric(value) + (m.key !== key ? ` (${m.key})` : ''),
        title: m && m.key ? `${m.key} (${m.key_source})` : (r.error || 'no metric'),
      }),
      h('td.num.co2', {}, hasCo2 && c.carbon.estimated ? estimatedBadge() : null,
        h('span', { text: hasCo2 ? co2(c.carbon.co2_g) : '—', title: hasCo2 ? `${c.carbon.intensity_source}` : (r.error || 'no energy logged') })),
      h('td.num.energy', { text: hasCo2 ? energy(c.carbon.energy_kwh) : '—' }),
      h('td.num.perkg', { text: perKg === null ? '—' : sig(perKg, 4) }),
      h('td.created', { text: time(v.creation_timestamp) }));
      return tr;
    }));
    if (!rows.length) tbody.append(h('tr', {}, h('td.empty', { colspan: '8', text: 'No versions yet.' })));
    const pts = rows.filter((r) => r.carbon && r.carbon.carbon && r.carbon.carbon.samples > 0 && r.carbon.metric &&
      r.carbon.metric.key === key && Number.isFinite(api.num(r.carbon.metric.value)))
      .map((r) => ({
        version: r.v.version, co2_g: r.carbon.carbon.co2_g, metric: api.num(r.carbon.metric.value),
        per_kg: api.num(r.carbon.metric_per_kg_co2), stage: r.v.current_stage, aliases: aliasesOf(r.v.version), run_id: r.runId,
      }));
    const totalG = rows.reduce((a, r) => a + ((r.carbon && r.carbon.carbon && r.carbon.carbon.co2_g) || 0), 0);
    summary.replaceChildren(h('span#version-count', { text: `${rows.length} version${rows.length === 1 ? '' : 's'}` }),
      key ? ` · judged by ${key} (${maximize ? 'higher' : 'lower'} is better)` : '',
      ` · ${co2(totalG)} CO₂ in their source runs`);
    renderChart(pts, label, maximize);
    const sel = tbody.querySelector('tr.selected');
    if (sel) sel.scrollIntoView({ block: 'nearest' });
  }

  function renderChart(pts, label, maximize) {
    if (chart) { chart.destroy(); chart = null; }
    chartBox.replaceChildren();
    if (!pts.length) {
      chartBox.dataset.points = '0';
      chartBox.append(h('p.muted.empty', { text: 'No version has both the metric and energy yet.' }));
      return;
    }
    chart = versionChart(chartBox, pts, {
      metricName: label, maximize, tooltip, onOpen: (p) => p.run_id && ctx.navigate(`/runs/${p.run_id}`),
    });
    window.__gtVersions = chart;
  }

  // ---- description: registered-models/update
  function renderDescription(editing = false, errMsg = '') {
    const text = model.description || '';
    if (!editing) {
      descBox.replaceChildren(
        text ? h('p.description#description-text', { text }) : h('p.muted#description-text', { text: 'No description.' }),
        h('button.ghost#description-edit', { type: 'button', text: text ? 'Edit' : 'Add a description', onclick: () => renderDescription(true) }));
      return;
    }
    const area = h('textarea#description-input', { rows: '5', 'aria-label': 'Description', spellcheck: 'true' });
    area.value = text;
    const err = h('div.filter-error', { role: 'alert', hidden: !errMsg, text: errMsg });
    const save = h('button#description-save', { type: 'submit', text: 'Save' });
    descBox.replaceChildren(h('form.edit', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        save.disabled = true;
        try {
          const r = await api.updateRegisteredModel(modelName, area.value, { signal: ctx.signal });
          model = { ...model, ...r.registered_model, description: r.registered_model.description || '' };
          renderHead();
          renderDescription(false);
        } catch (e) {
          if (disposed) return;
          save.disabled = false;
          err.hidden = false;
          err.textContent = `Could not save: ${e.message}`;
        }
      },
    }, area, h('div.actions', {}, save,
      h('button.ghost#description-cancel', { type: 'button', text: 'Cancel', onclick: () => renderDescription(false) })), err));
    area.focus();
  }

  // ---- tags: registered-models/set-tag and delete-tag
  function renderTags(errMsg = '') {
    const tags = (model.tags || []).slice().sort((a, b) => a.key.localeCompare(b.key));
    const keyIn = h('input#tag-key', { type: 'text', placeholder: 'key', 'aria-label': 'Tag key', autocomplete: 'off', spellcheck: 'false' });
    const valIn = h('input#tag-value', { type: 'text', placeholder: 'value', 'aria-label': 'Tag value', autocomplete: 'off' });
    const err = h('div.filter-error#tag-error', { role: 'alert', hidden: !errMsg, text: errMsg });
    const edit = (t) => { keyIn.value = t.key; valIn.value = t.value || ''; valIn.focus(); valIn.select(); };
    tagsBox.replaceChildren(
      tags.length
        ? h('table.grid.kv.tags', {}, h('tbody', {}, ...tags.map((t) => h('tr', { dataset: { key: t.key } },
          h('th', { text: t.key }), h('td', { text: t.value || '' }),
          h('td.actions', {},
            h('button.ghost.small', { type: 'button', text: 'Edit', 'aria-label': `Edit tag ${t.key}`, onclick: () => edit(t) }),
            h('button.ghost.small.danger', { type: 'button', text: 'Delete', 'aria-label': `Delete tag ${t.key}`, onclick: () => changeTag(() => api.deleteRegisteredModelTag(modelName, t.key, { signal: ctx.signal }), t.key) }))))))
        : h('p.muted', { text: 'No tags.' }),
      h('form.tagform#tag-form', {
        onsubmit: (ev) => {
          ev.preventDefault();
          const k = keyIn.value.trim();
          if (!k) { renderTags('A tag needs a key.'); return; }
          changeTag(() => api.setRegisteredModelTag(modelName, k, valIn.value, { signal: ctx.signal }), k);
        },
      }, keyIn, valIn, h('button#tag-set', { type: 'submit', text: 'Set tag' })),
      err,
      h('p.muted.small', {}, 'The tag ', h('code', { text: METRIC_TAG }),
        ' names the metric this model is judged by; without it, the leaderboard’s metric of each version’s experiment.'));
  }

  async function changeTag(call, key) {
    try {
      await call();
      model = (await api.getRegisteredModel(modelName, { signal: ctx.signal })).registered_model;
      if (disposed) return;
      renderTags();
      // the judged metric changed: every version's numbers change with it
      if (key === METRIC_TAG) await loadVersions();
    } catch (e) {
      if (disposed) return;
      renderTags(`Could not change the tag: ${e.message}`);
    }
  }

  renderHead();
  renderDescription();
  renderTags();
  await loadVersions();
  ctx.ready();
  return () => {
    disposed = true;
    if (chart) chart.destroy();
    tooltip.hide();
  };
}

function fact(k, v) {
  return h('div', {}, h('dt', { text: k }), h('dd', {}, v));
}
