// SPDX-License-Identifier: MIT
// /models?q=: the registered models (the registry's registered-models/
// search), 25 a page, with their latest version in each stage and their
// aliases. The search box is the registry's own name filter
// (name ILIKE '%q%', so % and _ are wildcards); Next/Previous follow the
// API's page tokens.
import * as api from '../api.js';
import { h, ago, time, debounce } from '../fmt.js';

export const name = 'models';
export const PAGE_SIZE = 25;

// A model's page. The trailing slash keeps a name with a dot ("resnet.v2")
// from reading as a file name: the server answers a missing file with an
// extension with a JSON 404 instead of the UI.
export const modelHref = (n, version) =>
  `/models/${encodeURIComponent(n)}/${version ? `?version=${encodeURIComponent(version)}` : ''}`;

// A stage as a badge ("None" gives nothing).
export function stageBadge(stage) {
  if (!stage || stage === 'None') return null;
  return h('span.badge.stage.stage-' + String(stage).toLowerCase(), { text: stage, title: `stage: ${stage}` });
}

export function aliasBadge(alias, version) {
  return h('span.badge.alias', {
    text: version === undefined ? `@${alias}` : `@${alias} → v${version}`,
    title: version === undefined ? `alias ${alias}` : `alias ${alias} points to version ${version}`,
  });
}

// The latest version per stage, newest first: "v3 Production", "v4".
function latestCell(m) {
  const vs = (m.latest_versions || []).slice().sort((a, b) => Number(b.version) - Number(a.version));
  if (!vs.length) return h('span.muted', { text: 'no versions' });
  return h('span.verlist', {}, ...vs.map((v) => h('span.ver', { dataset: { version: v.version, stage: v.current_stage || 'None' } },
    h('a', { href: modelHref(m.name, v.version), tabindex: '-1', text: `v${v.version}` }), stageBadge(v.current_stage))));
}

function aliasesCell(m) {
  const as = (m.aliases || []).slice().sort((a, b) => a.alias.localeCompare(b.alias));
  return h('span.aliaslist', {}, ...as.map((a) => aliasBadge(a.alias, a.version)));
}

export async function mount(root, ctx) {
  ctx.crumbs([{ text: 'Models' }]);
  const search = h('input.search#model-search', {
    type: 'search', placeholder: 'Search models by name', 'aria-label': 'Search models by name',
    'aria-describedby': 'models-error', value: ctx.query.get('q') || '',
  });
  const count = h('span.muted#models-count', { 'aria-live': 'polite' });
  const err = h('div#models-error.filter-error', { role: 'alert', hidden: true });
  const tbody = h('tbody');
  const table = h('table.grid.models#models', {},
    h('thead', {}, h('tr', {},
      h('th', { text: 'Name' }), h('th', { text: 'Latest versions' }), h('th', { text: 'Aliases' }),
      h('th', { text: 'Description' }), h('th', { text: 'Last updated' }))),
    tbody);
  const prevBtn = h('button.ghost#models-prev', { type: 'button', text: '‹ Previous', disabled: true });
  const nextBtn = h('button.ghost#models-next', { type: 'button', text: 'Next ›', disabled: true });
  const pageInfo = h('span.muted#models-page');
  root.append(
    h('div.toolbar', {}, h('h1', { text: 'Models' }), search, count),
    err,
    h('div.card', {}, table, h('div.pager', {}, prevBtn, pageInfo, nextBtn)));

  // tokens[i]: the page token of page i (undefined for the first page).
  // A link or reload that lands on a later page keeps its token but not the
  // ones before it: Previous then goes back to the first page.
  const st = { q: search.value.trim(), tokens: [ctx.query.get('page_token') || undefined], page: 0, next: null, firstPage: !ctx.query.get('page_token') };
  let loadCtrl = null;

  const filter = () => (st.q ? `name ILIKE ${api.filterString('%' + st.q + '%')}` : undefined);

  async function load() {
    if (loadCtrl) loadCtrl.abort();
    loadCtrl = new AbortController();
    const signal = loadCtrl.signal;
    ctx.signal.addEventListener('abort', () => loadCtrl.abort(), { once: true });
    table.setAttribute('aria-busy', 'true');
    let r;
    try {
      r = await api.searchRegisteredModels({ filter: filter(), max_results: PAGE_SIZE, page_token: st.tokens[st.page] }, { signal });
    } catch (e) {
      if (signal.aborted) return;
      table.removeAttribute('aria-busy');
      err.hidden = false;
      err.textContent = e instanceof api.ApiError && e.status === 400 ? e.message : `Could not load the models: ${e.message}`;
      search.setAttribute('aria-invalid', 'true');
      render([]);
      return;
    }
    table.removeAttribute('aria-busy');
    err.hidden = true;
    search.removeAttribute('aria-invalid');
    st.next = r.next_page_token || null;
    render(r.registered_models || []);
  }

  function render(models) {
    tbody.replaceChildren(...models.map((m) => {
      const href = modelHref(m.name);
      return h('tr.link', {
        tabindex: '0', dataset: { name: m.name },
        onclick: (ev) => { if (!ev.target.closest('a')) ctx.navigate(href); },
        onkeydown: (ev) => { if (ev.key === 'Enter' && ev.target === ev.currentTarget) ctx.navigate(href); },
      },
      h('td.name', {}, h('a', { href, tabindex: '-1', text: m.name })),
      h('td.latest', {}, latestCell(m)),
      h('td.aliases', {}, aliasesCell(m)),
      h('td.desc', { text: m.description || '', title: m.description || '' }),
      h('td.updated', { text: ago(m.last_updated_timestamp), title: time(m.last_updated_timestamp) }));
    }));
    if (!models.length) {
      tbody.append(h('tr', {}, h('td.empty', { colspan: '5' },
        st.q || st.page ? 'No model matches.'
          : ['No registered models yet. Register one with ', h('code', { text: 'mlflow.register_model("runs:/<run_id>/model", "name")' }), '.'])));
    }
    // "3 models" on a single page; "26–32" on later pages (the API gives no total)
    const n = models.length;
    const paged = st.page > 0 || !!st.next || !st.firstPage;
    if (!n) count.textContent = '';
    else if (!paged) count.textContent = `${n} model${n === 1 ? '' : 's'}`;
    else if (st.firstPage) count.textContent = `${st.page * PAGE_SIZE + 1}–${st.page * PAGE_SIZE + n}${st.next ? '' : ` of ${st.page * PAGE_SIZE + n}`}`;
    else count.textContent = `${n} model${n === 1 ? '' : 's'} on this page`;
    pageInfo.textContent = n && st.firstPage ? `Page ${st.page + 1}` : '';
    prevBtn.disabled = st.page === 0 && st.firstPage;
    nextBtn.disabled = !st.next;
    prevBtn.parentNode.hidden = prevBtn.disabled && nextBtn.disabled;
  }

  prevBtn.addEventListener('click', async () => {
    if (st.page === 0) { st.tokens = [undefined]; st.firstPage = true; } else st.page--;
    ctx.setQuery({ page_token: st.tokens[st.page] || null });
    await load();
  });
  nextBtn.addEventListener('click', async () => {
    if (!st.next) return;
    st.tokens[st.page + 1] = st.next;
    st.page++;
    ctx.setQuery({ page_token: st.next });
    await load();
  });
  search.addEventListener('input', debounce(() => {
    const q = search.value.trim();
    if (q === st.q) return;
    st.q = q;
    st.tokens = [undefined];
    st.page = 0;
    st.firstPage = true;
    ctx.setQuery({ q, page_token: null });
    load();
  }, 250));

  await load();
  ctx.ready();
  return () => { if (loadCtrl) loadCtrl.abort(); };
}
