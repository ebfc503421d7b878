// SPDX-License-Identifier: MIT
// The run page's Artifacts panel: the run's files as a folder tree (a
// folder is listed when first opened), with sizes and download links, and
// a preview of the selected file: text, JSON (pretty), YAML, CSV/TSV as a
// table (the first CSV_MAX_ROWS rows), images, and MLmodel (flavors and
// signature; the text when it cannot be read).
//
// A preview never loads a large file whole: it asks for the first
// PREVIEW_BYTES with a Range header and stops reading there even when the
// server sends more; images are shown only below IMAGE_MAX_BYTES (the
// browser loads an <img> whole), larger ones get a link. A cut preview
// says so.
//
// Where the files come from: a run whose artifact_uri is mlflow-artifacts:
// (or an http(s) URL of the proxy) is listed and read through the artifact
// proxy (/api/2.0/mlflow-artifacts/artifacts, specs/mlflow-artifacts.md).
// Other runs (older runs with a local path) are listed with the tracking
// API's artifacts/list; their files can be downloaded only when the proxy
// serves the same folder, <location>/<run_id>/artifacts under its
// destination, which the panel checks by listing it there too. Otherwise
// the panel says the files cannot be downloaded through the UI.
import * as api from './api.js';
import { h, bytes } from './fmt.js';
import { parseYaml } from './yaml.js';
import { parseCsv } from './csv.js';

export const PREVIEW_BYTES = 256 * 1024;
export const IMAGE_MAX_BYTES = 4 * 1024 * 1024;
export const CSV_MAX_ROWS = 1000;

const TEXT_EXT = new Set(['txt', 'log', 'err', 'out', 'cfg', 'conf', 'cnf', 'cf', 'ini', 'properties', 'prop', 'hocon',
  'toml', 'xml', 'js', 'mjs', 'ts', 'py', 'py3', 'md', 'rst', 'sh', 'r', 'sql', 'html', 'htm', 'css', 'c', 'h', 'cpp',
  'java', 'go', 'rs', 'jsonl', 'ndjson', 'tex', 'diff', 'patch', 'env', 'gitignore', 'dockerfile']);
const TEXT_NAMES = new Set(['MLproject', 'Dockerfile', 'Makefile', 'LICENSE', 'README', 'requirements', 'Pipfile']);
const IMAGE_EXT = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'svg', 'bmp', 'ico', 'avif']);

// The preview kind of a file name: mlmodel, json, yaml, csv, tsv, image,
// text, or other (read and shown as text when it decodes as UTF-8).
export function kindOf(name) {
  if (name === 'MLmodel') return 'mlmodel';
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  if (ext === 'json') return 'json';
  if (ext === 'yaml' || ext === 'yml') return 'yaml';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv') return 'tsv';
  if (IMAGE_EXT.has(ext)) return 'image';
  if (TEXT_EXT.has(ext) || TEXT_NAMES.has(name)) return 'text';
  return 'other';
}

// The proxy path (relative to its destination, no leading or trailing
// '/') of an artifact URI the proxy serves, or null. mlflow-artifacts:
// URIs with or without a host map to their path (the server assumes its
// own destination, spec section 2.4), as do http(s) URLs of the proxy.
export function proxyRoot(uri) {
  const s = String(uri || '');
  let m = /^mlflow-artifacts:(?:\/\/[^/]*)?(\/.*)?$/.exec(s);
  let p = null;
  if (m) p = m[1] || '';
  else if (/^https?:\/\//i.test(s)) {
    const mark = '/api/2.0/mlflow-artifacts/artifacts';
    const at = s.indexOf(mark);
    if (at < 0) return null;
    const rest = s.slice(at + mark.length).replace(/[?#].*$/, '');
    if (rest && rest[0] !== '/') return null;
    try { p = decodeURIComponent(rest); } catch { return null; }
  }
  if (p === null) return null;
  return p.split('/').filter(Boolean).join('/');
}

// For a run stored at a local path: where the proxy would hold the same
// files ("<last folder of the location>/<run_id>/artifacts"), or null
// when the path has another shape.
export function localCandidate(uri, runId) {
  const s = String(uri || '').replace(/^file:(?:\/\/)?/, '').replace(/\/+$/, '');
  const parts = s.split('/').filter(Boolean);
  const n = parts.length;
  if (n < 3 || parts[n - 1] !== 'artifacts' || parts[n - 2] !== runId) return null;
  return parts.slice(n - 3).join('/');
}

const join = (...p) => p.filter((x) => x !== '' && x !== null && x !== undefined).join('/');
const baseName = (p) => p.slice(p.lastIndexOf('/') + 1);

// The first 'limit' bytes of 'url', asked for with a Range header; reading
// stops at 'limit' even when the server answers 200 with everything.
// -> { data: Uint8Array, total (the file's size when known), truncated }.
export async function fetchHead(url, limit, { signal, size = null } = {}) {
  const res = await fetch(url, { signal, headers: { ...api.UI_HEADERS, Range: `bytes=0-${limit - 1}` } });
  if (res.status === 416) return { data: new Uint8Array(0), total: 0, truncated: false };
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let msg = '';
    try { msg = JSON.parse(text).message || ''; } catch { msg = text.slice(0, 200); }
    const err = new api.ApiError(res.status, 'HTTP_' + res.status, msg || `${res.status} ${res.statusText}`);
    api.unauthorized(err);
    throw err;
  }
  let total = size;
  const range = /\/(\d+)\s*$/.exec(res.headers.get('content-range') || '');
  if (range) total = Number(range[1]);
  else if (res.status === 200 && res.headers.get('content-length')) total = Number(res.headers.get('content-length'));
  const chunks = [];
  let got = 0;
  let cut = false;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = limit - got;
    if (value.length >= room) {
      chunks.push(value.subarray(0, room));
      got += room;
      cut = true;
      break;
    }
    chunks.push(value);
    got += value.length;
  }
  if (cut) reader.cancel().catch(() => {});
  const data = new Uint8Array(got);
  let at = 0;
  for (const c of chunks) { data.set(c, at); at += c.length; }
  const truncated = total !== null && Number.isFinite(total) ? got < total : cut;
  return { data, total: total ?? got, truncated };
}

// The bytes as text, or null when they look binary (a NUL byte early on,
// or not UTF-8). A cut multi-byte character at the end is dropped.
export function decodeText(data, truncated) {
  for (let i = 0; i < Math.min(data.length, 8192); i++) if (data[i] === 0) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data, { stream: truncated });
  } catch {
    return null;
  }
}

// "model" folders named by the run's mlflow.log-model.history tag.
export function loggedModelPaths(run) {
  const tag = ((run.data && run.data.tags) || []).find((t) => t.key === 'mlflow.log-model.history');
  const out = new Set();
  if (!tag) return out;
  try {
    for (const m of JSON.parse(tag.value)) if (m && typeof m.artifact_path === 'string') out.add(m.artifact_path.replace(/^\/+|\/+$/g, ''));
  } catch { /* not JSON: no marks */ }
  return out;
}

// The panel for 'run' (runs/get's run). onSelect(path) is told the file
// shown (for the URL); 'selected' opens that path at the start.
// -> { el, ready (settles once listed and 'selected' shown), refresh(),
// destroy() }
export function artifactsPanel(run, { signal, onSelect = () => {}, selected = null } = {}) {
  const info = run.info;
  const uri = info.artifact_uri || '';
  const models = loggedModelPaths(run);
  const st = {
    mode: null,      // 'proxy' (list and read through the proxy) or 'tracking' (artifacts/list only)
    base: null,      // proxy path of the run's root, in 'proxy' mode
    selected: null,  // the node previewed
    expanded: new Set(),
  };
  let disposed = false;
  let previewCtrl = null;

  const notice = h('p.art-notice.muted.small', { hidden: true });
  const treeEl = h('ul.art-tree', { 'aria-label': 'Files' });
  const treeBox = h('div.art-treebox', {}, treeEl);
  const preview = h('div#artifact-preview.art-preview', { 'aria-live': 'polite', dataset: { state: 'empty' } },
    h('p.muted', { text: 'Select a file to see it here.' }));
  const refreshBtn = h('button.art-refresh.ghost', { type: 'button', text: 'Refresh', title: 'List the files again', onclick: () => refresh() });
  const el = h('section.card.artifacts#artifacts', { 'aria-label': 'Artifacts', dataset: { state: 'loading' } },
    h('div.toolbar', {}, h('h2', { text: 'Artifacts' }),
      h('code.art-uri.muted', { text: uri, title: 'artifact_uri' }), h('span.spacer'), refreshBtn),
    notice,
    h('div.art-layout', {}, treeBox, preview));

  const root = { rel: '', name: '', isDir: true, kids: null, li: null, ul: treeEl, depth: -1 };
  if (signal) signal.addEventListener('abort', () => { if (previewCtrl) previewCtrl.abort(); }, { once: true });

  // ---- listing
  // Either listing's files as {name, isDir, size} (the proxy names files
  // by their name, artifacts/list by their run-relative path).
  const entriesOf = (r) => (r.files || []).map((f) =>
    ({ name: baseName(f.path), isDir: !!f.is_dir, size: f.is_dir ? null : api.num(f.file_size) }));
  async function list(rel) {
    if (st.mode === 'proxy') return entriesOf(await api.listProxy(join(st.base, rel), { signal }));
    return entriesOf(await api.listRunArtifacts(info.run_id, rel || undefined, { signal }));
  }

  const sameListing = (a, b) => a.length === b.length && a.every((x, i) =>
    x.name === b[i].name && x.isDir === b[i].isDir && (x.isDir || x.size === b[i].size));
  const byName = (a, b) => (a.isDir === b.isDir ? a.name.localeCompare(b.name) : a.isDir ? -1 : 1);

  function say(text) {
    notice.hidden = !text;
    notice.textContent = text || '';
  }

  // Decides where the files come from; returns the root's entries.
  async function connect() {
    const p = proxyRoot(uri);
    if (p !== null) {
      st.mode = 'proxy';
      st.base = p;
      try {
        return await list('');
      } catch (e) {
        if (!(e instanceof api.ApiError) || ![404, 405, 501, 503].includes(e.status) || (e.status === 404 && e.code !== 'ENDPOINT_NOT_FOUND')) throw e;
        st.mode = 'tracking';
        st.base = null;
        const entries = await list('');
        say(`The artifact proxy does not answer (${e.status}: ${oneLine(e.message)}), so these files are listed but cannot be downloaded through the UI.`);
        el.dataset.downloads = 'no';
        return entries;
      }
    }
    st.mode = 'tracking';
    const entries = await list('');
    const cand = localCandidate(uri, info.run_id);
    if (cand && entries.length) {
      try {
        const there = entriesOf(await api.listProxy(cand, { signal }));
        if (sameListing(there.slice().sort(byName), entries.slice().sort(byName))) {
          st.mode = 'proxy';
          st.base = cand;
          return there;
        }
      } catch { /* no proxy, or not there */ }
    }
    if (entries.length) {
      say(/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !/^file:/i.test(uri)
        ? 'These files are stored outside this server; they are listed but cannot be downloaded through the UI.'
        : 'This run keeps its files at a local path on the server that the artifact proxy does not serve: they are listed but cannot be downloaded through the UI.');
      el.dataset.downloads = 'no';
    }
    return entries;
  }

  function canDownload() { return st.mode === 'proxy'; }
  function urlOf(node) { return api.proxyUrl(join(st.base, node.rel)); }

  // ---- the tree
  function makeNode(parent, e) {
    const rel = join(parent.rel, e.name);
    const node = { rel, name: e.name, isDir: e.isDir, size: e.size, kids: null, depth: parent.depth + 1, parent };
    const pad = `${0.45 + node.depth * 1.05}rem`;
    const nameBtn = h('button.art-name', {
      type: 'button', title: rel,
      onclick: () => (node.isDir ? toggle(node) : select(node)),
    }, h('span.art-twisty', { 'aria-hidden': 'true', text: node.isDir ? '▸' : '' }),
    h('span.art-label', { text: e.name }),
    models.has(rel) ? h('span.badge.model', { text: 'model', title: 'a model logged with log-model' }) : null);
    if (node.isDir) nameBtn.setAttribute('aria-expanded', 'false');
    const row = h('div.art-row', {}, nameBtn,
      h('span.art-size', { text: node.isDir ? '' : bytes(node.size) }),
      !node.isDir && canDownload()
        ? h('a.art-dl', { href: urlOf(node), download: e.name, title: `Download ${e.name}`, 'aria-label': `Download ${e.name}`, text: '⤓' })
        : h('span.art-dl'));
    row.style.paddingLeft = pad;
    node.row = row;
    node.btn = nameBtn;
    node.li = h('li', { dataset: { path: rel, kind: node.isDir ? 'dir' : 'file' } }, row);
    return node;
  }

  function fill(parent, entries) {
    entries.sort(byName);
    parent.kids = entries.map((e) => makeNode(parent, e));
    if (!parent.ul) {
      parent.ul = h('ul');
      parent.li.append(parent.ul);
    }
    if (parent.kids.length) parent.ul.replaceChildren(...parent.kids.map((k) => k.li));
    else parent.ul.replaceChildren(h('li.art-empty.muted', { text: parent === root ? 'No artifacts.' : 'Empty folder.' }));
    // a folder holding an MLmodel is a model
    if (parent !== root && entries.some((e) => e.name === 'MLmodel' && !e.isDir) && !parent.btn.querySelector('.badge.model')) {
      parent.btn.append(h('span.badge.model', { text: 'model', title: 'holds an MLmodel' }));
    }
  }

  async function expand(node, open = true) {
    if (!node.isDir) return;
    if (open && !node.kids) {
      // (a second click while the folder is being listed waits for it)
      if (!node.loading) {
        node.li.setAttribute('aria-busy', 'true');
        node.loading = list(node.rel).then((entries) => fill(node, entries), (e) => {
          if (signal && signal.aborted) return;
          node.ul = node.ul || h('ul');
          if (!node.ul.parentNode) node.li.append(node.ul);
          node.ul.replaceChildren(h('li.art-error', { text: `Could not list: ${e.message}` }));
        }).finally(() => {
          node.loading = null;
          node.li.removeAttribute('aria-busy');
        });
      }
      await node.loading;
    }
    if (node.ul) node.ul.hidden = !open;
    node.btn.setAttribute('aria-expanded', String(open));
    node.btn.firstChild.textContent = open ? '▾' : '▸';
    if (open) st.expanded.add(node.rel); else st.expanded.delete(node.rel);
  }
  const toggle = (node) => expand(node, node.btn.getAttribute('aria-expanded') !== 'true');

  // Opens the folders down to 'rel' and shows it ('scroll': into view in
  // the tree).
  async function reveal(rel, { scroll = false } = {}) {
    let node = root;
    const parts = rel.split('/').filter(Boolean);
    for (let i = 0; i < parts.length; i++) {
      if (!node.kids) return;
      const next = node.kids.find((k) => k.name === parts[i]);
      if (!next) return;
      node = next;
      if (node.isDir) await expand(node, true);
    }
    if (node !== root && !node.isDir) await select(node, { scroll });
  }

  // ---- previews
  async function select(node, { scroll = false } = {}) {
    if (st.selected && st.selected.row) {
      st.selected.row.classList.remove('selected');
      st.selected.btn.removeAttribute('aria-current');
    }
    st.selected = node;
    node.row.classList.add('selected');
    node.btn.setAttribute('aria-current', 'true');
    if (scroll) {
      // within the tree only: the page stays where it is
      const top = node.row.offsetTop;
      if (top < treeBox.scrollTop || top + node.row.offsetHeight > treeBox.scrollTop + treeBox.clientHeight) {
        treeBox.scrollTop = top - treeBox.clientHeight / 3;
      }
    }
    onSelect(node.rel);
    if (previewCtrl) previewCtrl.abort();
    previewCtrl = new AbortController();
    const sig = previewCtrl.signal;
    const kind = kindOf(node.name);
    const head = h('div.art-phead', {},
      h('strong.art-pname', { text: node.rel }),
      h('span.muted', { text: bytes(node.size) }),
      h('span.spacer'),
      canDownload() ? h('a.art-download', { href: urlOf(node), download: node.name, text: 'Download' }) : null);
    const body = h('div.art-pbody');
    preview.replaceChildren(head, body);
    preview.dataset.path = node.rel;
    preview.dataset.kind = kind;
    delete preview.dataset.truncated;
    const done = (state) => { if (!sig.aborted) preview.dataset.state = state; };
    if (!canDownload()) {
      body.append(h('p.muted', { text: 'No preview: the file is not served over HTTP.' }));
      done('unavailable');
      return;
    }
    if (kind === 'image') {
      if (node.size !== null && node.size > IMAGE_MAX_BYTES) {
        body.append(h('p.muted', {}, `This image is ${bytes(node.size)}, more than the ${bytes(IMAGE_MAX_BYTES)} shown inline: `,
          h('a', { href: urlOf(node), download: node.name, text: 'download it' }), '.'));
        done('toolarge');
        return;
      }
      preview.dataset.state = 'loading';
      const dims = h('p.muted.small');
      const img = h('img', { src: urlOf(node), alt: node.name });
      img.addEventListener('load', () => { dims.textContent = `${img.naturalWidth} × ${img.naturalHeight} px`; done('ok'); });
      img.addEventListener('error', () => { body.replaceChildren(h('p.art-error', { text: 'Could not load this image.' })); done('error'); });
      body.append(h('div.art-img', {}, img), dims);
      return;
    }
    if (node.size === 0) {
      body.append(h('p.muted', { text: 'Empty file.' }));
      done('ok');
      return;
    }
    preview.dataset.state = 'loading';
    body.append(h('p.muted', { text: 'Loading…' }));
    let got;
    try {
      got = await fetchHead(urlOf(node), PREVIEW_BYTES, { signal: sig, size: node.size });
    } catch (e) {
      if (sig.aborted) return;
      body.replaceChildren(h('p.art-error', { text: `Could not load the preview: ${e.message}` }));
      done('error');
      return;
    }
    if (sig.aborted || disposed) return;
    const text = decodeText(got.data, got.truncated);
    if (got.truncated) preview.dataset.truncated = '1';
    if (text === null) {
      body.replaceChildren(h('p.muted', { text: 'Binary file: no preview.' }));
      preview.dataset.kind = 'binary';
      done('ok');
      return;
    }
    let parts;
    if (kind === 'csv' || kind === 'tsv') parts = csvView(text, kind === 'tsv' ? '\t' : ',', got, preview);
    else {
      parts = kind === 'json' ? jsonView(text, got.truncated)
        : kind === 'mlmodel' ? mlmodelView(text, got.truncated)
          : [h('pre.art-text', { text })];
      if (got.truncated) parts.unshift(truncNote(`Preview truncated: the first ${bytes(got.data.length)} of ${bytes(got.total)} are shown.`));
    }
    body.replaceChildren(...parts);
    done('ok');
  }

  // ---- life
  async function load() {
    el.dataset.state = 'loading';
    try {
      const entries = await connect();
      if (disposed) return;
      fill(root, entries);
      el.dataset.mode = st.mode;
      el.dataset.state = 'ok';
    } catch (e) {
      if (disposed || (signal && signal.aborted)) return;
      treeEl.replaceChildren(h('li.art-error', { text: `Could not list the artifacts: ${e.message}` }));
      el.dataset.state = 'error';
    }
  }

  // Lists everything again, keeping open folders and the selection.
  async function refresh() {
    const open = [...st.expanded].sort((a, b) => a.split('/').length - b.split('/').length);
    const sel = st.selected ? st.selected.rel : null;
    st.expanded.clear();
    st.selected = null;
    refreshBtn.disabled = true;
    try {
      const entries = await list('');
      if (disposed) return;
      fill(root, entries);
      for (const rel of open) await reveal(rel);
      if (sel) await reveal(sel);
    } catch (e) {
      if (!disposed) say(`Could not list the artifacts again: ${e.message}`);
    } finally {
      refreshBtn.disabled = false;
    }
  }

  const ready = load().then(() => (selected && !disposed ? reveal(selected, { scroll: true }) : null));
  return {
    el,
    ready,
    refresh,
    destroy() { disposed = true; if (previewCtrl) previewCtrl.abort(); },
  };
}

function oneLine(s) { return String(s).replace(/\s+/g, ' ').slice(0, 160); }

function truncNote(text) {
  return h('p.art-trunc', { role: 'note', text });
}

function jsonView(text, truncated) {
  if (truncated) return [h('pre.art-text', { text })];
  try {
    return [h('pre.art-text.json', { text: JSON.stringify(JSON.parse(text), null, 2) })];
  } catch (e) {
    return [h('p.art-error', { text: `Not valid JSON (${e.message}); shown as text.` }), h('pre.art-text', { text })];
  }
}

function csvView(text, delimiter, got, preview) {
  const { rows, more, count } = parseCsv(text, { delimiter, maxRows: CSV_MAX_ROWS + 1, partial: got.truncated, countAll: !got.truncated });
  if (!rows.length) return [h('p.muted', { text: 'No rows.' })];
  const [header, ...data] = rows;
  const width = Math.max(header.length, ...data.map((r) => r.length));
  const out = [];
  const n = data.length.toLocaleString('en-US');
  if (more || got.truncated) {
    preview.dataset.truncated = '1';
    out.push(truncNote(count !== null
      ? `Showing the first ${n} of ${(count - 1).toLocaleString('en-US')} rows.`
      : `Showing the first ${n} rows: the preview reads the first ${bytes(got.data.length)} of ${bytes(got.total)}.`));
  } else {
    out.push(h('p.muted.small', { text: `${n} row${data.length === 1 ? '' : 's'}, ${header.length} column${header.length === 1 ? '' : 's'}.` }));
  }
  const cells = (r, tag) => Array.from({ length: width }, (_, i) => h(tag, { text: r[i] ?? '' }));
  out.push(h('div.art-csv', {}, h('table.grid.csv', { dataset: { rows: String(data.length) } },
    h('thead', {}, h('tr', {}, ...cells(header, 'th'))),
    h('tbody', {}, ...data.map((r) => h('tr', {}, ...cells(r, 'td')))))));
  return out;
}

// ---- MLmodel

function mlmodelView(text, truncated) {
  let m;
  try {
    if (truncated) throw new Error('the file is larger than the preview');
    m = parseYaml(text);
    if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Error('not a mapping');
  } catch (e) {
    return [h('p.art-error', { text: `Could not read this MLmodel (${e.message}); shown as text.` }), h('pre.art-text', { text })];
  }
  const out = [];
  const facts = [
    ['Artifact path', m.artifact_path], ['Created', m.utc_time_created], ['MLflow', m.mlflow_version],
    ['Size', typeof m.model_size_bytes === 'number' ? bytes(m.model_size_bytes) : m.model_size_bytes],
    ['Model UUID', m.model_uuid], ['Run', m.run_id],
  ].filter(([, v]) => v !== undefined && v !== null && v !== '');
  if (facts.length) {
    out.push(h('dl.facts.model-facts', {}, ...facts.map(([k, v]) => h('div', {}, h('dt', { text: k }), h('dd', { text: String(v) })))));
  }
  const flavors = m.flavors && typeof m.flavors === 'object' && !Array.isArray(m.flavors) ? m.flavors : null;
  out.push(h('h3', { text: 'Flavors' }));
  if (flavors && Object.keys(flavors).length) {
    out.push(h('div.flavors', {}, ...Object.keys(flavors).map((name) => {
      const rows = flatten(flavors[name]);
      return h('div.flavor', { dataset: { flavor: name } }, h('h4', {}, h('code', { text: name })),
        rows.length ? h('table.grid.kv', {}, h('tbody', {}, ...rows.map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', { text: v })))))
          : h('p.muted.small', { text: 'No settings.' }));
    })));
  } else out.push(h('p.muted', { text: 'None listed.' }));
  out.push(h('h3', { text: 'Signature' }));
  const sig = m.signature && typeof m.signature === 'object' ? m.signature : null;
  if (sig) {
    const box = h('div.signature');
    for (const [key, label] of [['inputs', 'Inputs'], ['outputs', 'Outputs'], ['params', 'Parameters']]) {
      if (sig[key] === undefined || sig[key] === null) continue;
      box.append(schemaTable(label, key, sig[key]));
    }
    out.push(box.childNodes.length ? box : h('p.muted', { text: 'Empty signature.' }));
  } else out.push(h('p.muted', { text: 'No signature.' }));
  if (m.saved_input_example_info && m.saved_input_example_info.artifact_path) {
    out.push(h('p.muted.small', {}, 'Input example: ', h('code', { text: String(m.saved_input_example_info.artifact_path) })));
  }
  out.push(h('details.art-source', {}, h('summary', { text: 'MLmodel source' }), h('pre.art-text', { text })));
  return out;
}

// [["env.conda", "conda.yaml"], ...]
function flatten(v, prefix = '', out = []) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (!keys.length && prefix) out.push([prefix, '{}']);
    for (const k of keys) flatten(v[k], prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.push([prefix, v === null ? 'null' : Array.isArray(v) ? JSON.stringify(v) : String(v)]);
  }
  return out;
}

// A signature's schema: a JSON string (MLflow writes one) of column specs
// [{name, type, required}], tensor specs [{type: "tensor", "tensor-spec":
// {dtype, shape}}] or params [{name, type, default, shape}].
function schemaTable(label, key, raw) {
  let spec = raw;
  if (typeof raw === 'string') {
    try { spec = JSON.parse(raw); } catch { spec = null; }
  }
  const wrap = (...kids) => h('div.schema', { dataset: { schema: key } }, h('h4', { text: label }), ...kids);
  if (!Array.isArray(spec)) return wrap(h('pre.art-text', { text: typeof raw === 'string' ? raw : JSON.stringify(raw) }));
  if (!spec.length) return wrap(h('p.muted.small', { text: 'None.' }));
  const isParams = key === 'params';
  const head = isParams ? ['Name', 'Type', 'Default', 'Shape'] : ['#', 'Name', 'Type', 'Shape', 'Required'];
  const rows = spec.map((c, i) => {
    const t = c && c['tensor-spec'];
    const type = t ? `tensor ${t.dtype || '?'}` : typeName(c);
    const shape = (t && t.shape) || c.shape;
    const shapeText = Array.isArray(shape) ? `(${shape.join(', ')})` : '';
    return isParams
      ? [c.name ?? '', type, c.default === undefined ? '' : JSON.stringify(c.default), shapeText]
      : [String(i), c.name ?? '—', type, shapeText, c.required === false ? 'optional' : 'required'];
  });
  return wrap(h('table.grid.schema-table', {},
    h('thead', {}, h('tr', {}, ...head.map((x) => h('th', { text: x })))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((x) => h('td', { text: x })))))));
}

function typeName(c) {
  if (!c || typeof c !== 'object') return String(c);
  if (c.type === 'array') return `array<${typeName(c.items)}>`;
  if (c.type === 'object' && c.properties && typeof c.properties === 'object') {
    return `object{${Object.keys(c.properties).map((k) => `${k}: ${typeName(c.properties[k])}`).join(', ')}}`;
  }
  if (c.type === 'map') return `map<string, ${typeName(c.values)}>`;
  return String(c.type ?? '?');
}

