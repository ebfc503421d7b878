// SPDX-License-Identifier: MIT
// The REST calls the UI makes. Every error becomes an ApiError carrying the
// server's message (shown inline, e.g. under the filter box). Every call
// says it is the UI's own (X-Greentrack-UI: 1: with auth on, the server's
// 401 then has no WWW-Authenticate, so the browser shows no Basic dialog)
// and a 401 goes to the handler set with onUnauthenticated (main.js: the
// login page), except for the calls that expect one (login, whoami).

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    // seconds, from a 429's Retry-After (null when absent)
    this.retryAfter = retryAfter;
  }
}

// The headers every call of the UI carries.
export const UI_HEADERS = Object.freeze({ 'x-greentrack-ui': '1' });

let unauthenticated = null;
// fn(error) runs on any 401 answer but those of calls made with
// { quiet401: true }.
export function onUnauthenticated(fn) { unauthenticated = fn; }

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

// The server's message for a 403, unless it only says "permission denied"
// (the page says that already).
export function deniedDetail(message) {
  const m = String(message || '').trim();
  return /^permission denied\.?$/i.test(m) ? '' : m;
}

// A 401 seen by a call that does not expect one goes to the handler.
export function unauthorized(err, quiet401 = false) {
  if (err.status === 401 && !quiet401 && unauthenticated) unauthenticated(err);
}

async function answer(res, quiet401) {
  const text = await res.text();
  let body = {};
  if (text) {
    try { body = JSON.parse(text); } catch { body = { message: text }; }
  }
  if (!res.ok) {
    const ra = Number.parseInt(res.headers.get('retry-after') || '', 10);
    const err = new ApiError(res.status, body.error_code || 'HTTP_' + res.status,
      body.message || `${res.status} ${res.statusText}`, Number.isFinite(ra) ? ra : null);
    unauthorized(err, quiet401);
    throw err;
  }
  return body;
}

// A 503 with Retry-After is the server saying "nothing was done, try
// again" (a busy database, a full write queue): the call is sent again
// after the wait it names (at most 5 s), up to 3 times, before its error
// reaches the page.
const RETRIES_503 = 3;

async function fetchRetrying(url, init) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, init);
    const ra = Number.parseInt(res.headers.get('retry-after') || '', 10);
    if (res.status !== 503 || !Number.isFinite(ra) || attempt >= RETRIES_503) return res;
    await new Promise((resolve, reject) => {
      const abort = () => { clearTimeout(timer); reject(init.signal.reason); };
      const timer = setTimeout(() => { init.signal?.removeEventListener('abort', abort); resolve(); },
        Math.min(Math.max(ra, 0), 5) * 1000);
      init.signal?.addEventListener('abort', abort, { once: true });
    });
  }
}

export async function get(path, params = {}, { signal, quiet401 } = {}) {
  return answer(await fetchRetrying(path + qs(params), {
    signal, headers: { ...UI_HEADERS, accept: 'application/json' },
  }), quiet401);
}

export async function post(path, body, { signal, quiet401 } = {}) {
  return answer(await fetchRetrying(path, {
    method: 'POST', signal,
    headers: { ...UI_HEADERS, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  }), quiet401);
}

// PATCH and DELETE carry a JSON body, as MLflow's registry wants.
async function send(method, path, body, { signal, quiet401 } = {}) {
  return answer(await fetchRetrying(path, {
    method, signal,
    headers: { ...UI_HEADERS, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  }), quiet401);
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

// ---- authentication (docs/api.md "Authentication")
// Who the caller is: { auth_enabled, user: {username, is_admin} | null,
// auth_method }. With auth off: { auth_enabled: false }. A server without
// the endpoint (404) has no auth either; with auth on and no session the
// server may answer 401: then auth is on and nobody is logged in.
export async function whoami(opts = {}) {
  try {
    const r = await get(GT + 'auth/whoami', {}, { ...opts, quiet401: true });
    const enabled = r.auth_enabled !== undefined ? !!r.auth_enabled : (r.auth !== false);
    return { auth_enabled: enabled, user: enabled ? (r.user || null) : null, auth_method: r.auth_method || 'none' };
  } catch (e) {
    if (e.status === 401) return { auth_enabled: true, user: null, auth_method: 'none' };
    if (e.status === 404) return { auth_enabled: false, user: null, auth_method: 'none' };
    throw e;
  }
}
export const login = (username, password, opts = {}) =>
  post(GT + 'auth/login', { username, password }, { ...opts, quiet401: true });
export const logout = (opts = {}) => post(GT + 'auth/logout', {}, { ...opts, quiet401: true });

// Tokens: the caller's own ('username' for an admin looking at another's).
export const createToken = (spec, opts) => post(GT + 'tokens/create', spec, opts);
export const listTokens = (username, opts) => get(GT + 'tokens/list', { username }, opts);
export const revokeToken = (id, opts) => post(GT + 'tokens/revoke', { id }, opts);

// Users (admins) and experiment permissions (MANAGE): MLflow's auth API,
// plus greentrack's two lists.
export const listUsers = (opts) => get(GT + 'users/list', {}, opts);
export const createUser = (username, password, opts) => post(ML + 'users/create', { username, password }, opts);
export const updatePassword = (username, password, opts) => patch(ML + 'users/update-password', { username, password }, opts);
export const updateAdmin = (username, isAdmin, opts) => patch(ML + 'users/update-admin', { username, is_admin: isAdmin }, opts);
export const deleteUser = (username, opts) => del(ML + 'users/delete', { username }, opts);
export const listPermissions = (experimentId, opts) =>
  get(GT + 'experiments/permissions/list', { experiment_id: experimentId }, opts);
export const createPermission = (experimentId, username, permission, opts) =>
  post(ML + 'experiments/permissions/create', { experiment_id: experimentId, username, permission }, opts);
export const updatePermission = (experimentId, username, permission, opts) =>
  patch(ML + 'experiments/permissions/update', { experiment_id: experimentId, username, permission }, opts);
export const deletePermission = (experimentId, username, opts) =>
  del(ML + 'experiments/permissions/delete', { experiment_id: experimentId, username }, opts);

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
