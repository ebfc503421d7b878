// SPDX-License-Identifier: MIT
// /experiments?q=: every experiment with run counts, running counts, total
// energy and CO2, carbon budget used (a small bar, when the experiment tag
// greentrack.budget_co2_kg is set), last activity; a search box filters
// by name (or id).
import * as api from '../api.js';
import { h, co2, energy, ago, time, debounce } from '../fmt.js';
import { budgetBar } from '../green.js';

export const name = 'experiments';
const POLL_MS = 10000;

export async function mount(root, ctx) {
  ctx.crumbs([{ text: 'Experiments' }]);
  const search = h('input.search', {
    type: 'search', placeholder: 'Search experiments', 'aria-label': 'Search experiments',
    value: ctx.query.get('q') || '',
  });
  const count = h('span.muted');
  const tbody = h('tbody');
  const table = h('table.grid.experiments', {},
    h('thead', {}, h('tr', {},
      h('th', { text: 'Name' }), h('th.num', { text: 'Runs' }), h('th.num', { text: 'Running' }),
      h('th.num', { text: 'Energy' }), h('th.num', { text: 'CO₂' }), h('th', { text: 'Budget' }), h('th', { text: 'Last activity' }))),
    tbody);
  root.append(
    h('div.toolbar', {}, h('h1', { text: 'Experiments' }), search, count),
    h('div.card', {}, table));

  let all = [];
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const rows = q ? all.filter((e) => e.name.toLowerCase().includes(q) || e.experiment_id === q) : all;
    count.textContent = q ? `${rows.length} of ${all.length}` : `${all.length} experiments`;
    tbody.replaceChildren(...rows.map((e) => {
      const href = `/experiments/${encodeURIComponent(e.experiment_id)}`;
      return h('tr.link', {
        tabindex: '0', dataset: { id: e.experiment_id },
        onclick: (ev) => { if (!ev.target.closest('a')) ctx.navigate(href); },
        onkeydown: (ev) => { if (ev.key === 'Enter') ctx.navigate(href); },
      },
      h('td', {}, h('a', { href, tabindex: '-1', text: e.name })),
      h('td.num', { text: String(e.runs) }),
      h('td.num', {}, e.running ? h('span.badge.status-running', { text: String(e.running) }) : '0'),
      h('td.num', { text: e.runs ? energy(e.energy_kwh) : '—' }),
      h('td.num', { text: e.runs ? co2(e.co2_g) : '—' }),
      h('td.budget', {}, budgetBar(e, { small: true }) || h('span.muted', { text: '—' })),
      h('td', { text: ago(e.last_activity), title: time(e.last_activity) }));
    }));
    if (!rows.length) tbody.append(h('tr', {}, h('td.empty', { colspan: '7', text: all.length ? 'No experiment matches.' : 'No experiments yet.' })));
  };
  search.addEventListener('input', debounce(() => { ctx.setQuery({ q: search.value.trim() }); render(); }, 80));

  let timer = null;
  const load = async () => {
    const r = await api.experimentSummary({ signal: ctx.signal });
    all = (r.experiments || []).slice().sort((a, b) => (b.last_activity || 0) - (a.last_activity || 0));
    render();
    const running = all.some((e) => e.running > 0);
    ctx.live(running);
    clearTimeout(timer);
    if (running) timer = setTimeout(() => load().catch(() => {}), POLL_MS);
  };
  await load();
  ctx.ready();
  return () => clearTimeout(timer);
}
