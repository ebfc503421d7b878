// SPDX-License-Identifier: MIT
// The REST calls the UI makes. Every error becomes an ApiError carrying the
// server's message (shown inline, e.g. under the filter box).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const ML = '/api/2.0/mlflow/';
const GT = '/api/2.0/greentrack/';

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) u.append(k, x);
    else u.append(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

async function answer(res) {
  const text = await res.text();
  let body = {};
  if (text) {
    try { body = JSON.parse(text); } catch { body = { message: text }; }
  }
  if (!res.ok) {
    throw new ApiError(res.status, body.error_code || 'HTTP_' + res.status,
      body.message || `${res.status} ${res.statusText}`);
  }
  return body;
}

export async function get(path, params = {}, { signal } = {}) {
  return answer(await fetch(path + qs(params), { signal, headers: { accept: 'application/json' } }));
}

export async function post(path, body, { signal } = {}) {
  return answer(await fetch(path, {
    method: 'POST', signal,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  }));
}

// PATCH and DELETE carry a JSON body, as MLflow's registry wants.
async function send(method, path, body, { signal } = {}) {
  return answer(await fetch(path, {
    method, signal,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  }));
}
export const patch = (path, body, opts) => send('PATCH', path, body, opts);
export const del = (path, body, opts) => send('DELETE', path, body, opts);

// ---- MLflow
export const getExperiment = (id) => get(ML + 'experiments/get', { experiment_id: id });
export const searchRuns = (body, opts) => post(ML + 'runs/search', body, opts);
export const getRun = (id, opts) => get(ML + 'runs/get', { run_id: id }, opts);
export const historyInterval = (runIds, key, maxResults = 1000, opts) =>
  get(ML + 'metrics/get-history-bulk-interval',
    { run_ids: runIds, metric_key: key, max_results: maxResults }, opts);

// ---- model registry (specs/mlflow-registry.md)
// A quoted string for the registry's filter grammar: a quote doubled, a
// backslash doubled ('%' and '_' stay LIKE wildcards).
export const filterString = (s) => "'" + String(s).replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
export const searchRegisteredModels = (params, opts) => get(ML + 'registered-models/search', params, opts);
export const getRegisteredModel = (name, opts) => get(ML + 'registered-models/get', { name }, opts);
export const updateRegisteredModel = (name, description, opts) =>
  patch(ML + 'registered-models/update', { name, description }, opts);
export const setRegisteredModelTag = (name, key, value, opts) =>
  post(ML + 'registered-models/set-tag', { name, key, value }, opts);
export const deleteRegisteredModelTag = (name, key, opts) =>
  del(ML + 'registered-models/delete-tag', { name, key }, opts);
export const searchModelVersions = (params, opts) => get(ML + 'model-versions/search', params, opts);
// Every version matching 'filter', paging through the API.
export async function searchModelVersionsAll(filter, opts) {
  const out = [];
  let token;
  for (let i = 0; i < 1000; i++) {
    const r = await searchModelVersions({ filter, max_results: 1000, page_token: token }, opts);
    for (const v of r.model_versions || []) out.push(v);
    token = r.next_page_token;
    if (!token) break;
  }
  return out;
}

// ---- artifacts
// The tracking API's listing of a run's files ({root_uri, files: [{path
// (run-relative), is_dir, file_size}]}).
export const listRunArtifacts = (runId, path, opts) => get(ML + 'artifacts/list', { run_id: runId, path }, opts);

// The artifact proxy (specs/mlflow-artifacts.md): one folder of its
// destination, {files: [{path (the name only), is_dir, file_size}]} ({}
// when empty, a file or missing); and the download URL of a file.
export const PROXY = '/api/2.0/mlflow-artifacts/artifacts';
export const listProxy = (path, opts) => get(PROXY, { path }, opts);
export function proxyUrl(path) {
  return PROXY + '/' + String(path).split('/').filter(Boolean).map(encodeURIComponent).join('/');
}

// ---- greentrack
export const experimentSummary = (opts) => get(GT + 'experiments/summary', {}, opts);
export const leaderboard = (params, opts) => get(GT + 'leaderboard', params, opts);
export const runCarbon = (id, opts) => get(GT + 'runs/carbon', { run_id: id }, opts);
// A model version's source run's energy and CO2, the metric the model is
// judged by and metric per kg CO2.
export const versionCarbon = (name, version, opts) => get(GT + 'model-versions/carbon', { name, version }, opts);

export async function runEnergy(id, opts) {
  const samples = [];
  let token;
  for (let i = 0; i < 100; i++) {
    const r = await get(GT + 'runs/energy', { run_id: id, max_results: 10000, page_token: token }, opts);
    for (const s of r.samples || []) samples.push(s);
    token = r.next_page_token;
    if (!token) break;
  }
  return samples;
}

// Every leaderboard row matching (experiment, metric, direction, filter),
// paging through the API; onPage(rows so far, total) reports progress.
export async function leaderboardAll(params, { pageSize = 5000, signal, onPage } = {}) {
  const rows = [];
  let token;
  let total = 0;
  for (;;) {
    const r = await leaderboard({ ...params, max_results: pageSize, page_token: token }, { signal });
    for (const x of r.runs || []) rows.push(x);
    total = r.total ?? rows.length;
    if (onPage) onPage(rows, total);
    token = r.next_page_token;
    if (!token) break;
  }
  return { rows, total };
}

// A number as MLflow JSON gives it ("NaN"/"Infinity" arrive as strings).
export function num(v) {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
}
