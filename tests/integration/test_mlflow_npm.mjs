// SPDX-License-Identifier: MIT
// greentrack real-client integration test: drives a fresh greentrack-server
// ONLY through the third-party npm package `mlflow` 2.0.7 (see
// /work/shared/specs/mlflow-npm-client.md for what it sends and its quirks).
//
// Usage:  node tests/integration/test_mlflow_npm.mjs
//
// Needs tests/integration/node_modules/mlflow (pinned in package-lock.json):
// `make test` installs it (tools/deps.sh runs npm ci) before any suite runs.
//
// The server binary is $GREENTRACK_BUILD/bin/greentrack-server, where
// GREENTRACK_BUILD defaults to build/release (a relative path is taken from
// the current directory, else from the repository root). The server gets
// port 0, a temporary DB and artifact root, and --log-level warn, and is
// stopped with SIGTERM at the end (exit status 0 is checked).
//
// Output: one "PASS name" / "FAIL name: reason" line per check, and as the
// LAST line "test_mlflow_npm: N passed, M failed". Exit status 1 when any
// check failed.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { isDeepStrictEqual, inspect } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { dbTarget, suiteName } from './pgdb.mjs';

const SUITE = suiteName('test_mlflow_npm');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(path.dirname(HERE));
// These bound a hang, never a speed: a busy machine only makes the suite
// slower (it takes ~1.5 s on a quiet one). The SIGTERM bound is the
// harness's STOP_TIMEOUT (docker stop's 10 s grace period).
const START_TIMEOUT_MS = 30000;
const STOP_TIMEOUT_MS = 10000;
const CALL_TIMEOUT_MS = 30000;
const WATCHDOG_MS = 120000;

// ---------------------------------------------------------------- reporting

let passed = 0;
let failed = 0;
const write = (s) => process.stdout.write(s + '\n'); // immune to console.log muting

function show(v) {
  return inspect(v, { depth: 6, breakLength: Infinity, compact: true });
}
function oneLine(s) {
  return String(s).replace(/\s*\n\s*/g, ' ').slice(0, 1500);
}
function pass(name) {
  passed++;
  write(`PASS ${name}`);
}
function fail(name, reason) {
  failed++;
  write(`FAIL ${name}: ${oneLine(reason)}`);
}
function check(name, cond, reason) {
  if (cond) pass(name);
  else fail(name, reason === undefined ? 'condition false' : reason);
  return !!cond;
}
// Strict (type-sensitive) deep equality: 5 !== "5", null !== undefined.
function eq(name, actual, expected) {
  return check(name, isDeepStrictEqual(actual, expected),
    `got ${show(actual)}, expected ${show(expected)}`);
}

// ------------------------------------------------------------- the package

function ensurePackage() {
  const pkgDir = path.join(HERE, 'node_modules', 'mlflow');
  if (fs.existsSync(path.join(pkgDir, 'package.json'))) return pkgDir;
  throw new Error(`${pkgDir} is missing: run make test (tools/deps.sh runs npm ci in tests/integration)`);
}

// The package console.logs every POST body; mute console.log while a call
// is in flight (console.log runs synchronously inside req(), but restore only
// after the promise settles to be safe). Calls also get a timeout, as the
// package has none.
async function call(fn) {
  const saved = console.log;
  console.log = () => {};
  let timer;
  try {
    return await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error(`client call timed out after ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    console.log = saved;
  }
}

// The package throws Error('Error: {"status":..,"statusText":..,"data":..}').
function parseClientError(e) {
  const msg = String(e && e.message !== undefined ? e.message : e);
  const i = msg.indexOf('{');
  if (i < 0) return null;
  try { return JSON.parse(msg.slice(i)); } catch { return null; }
}

// Expect the call to fail with HTTP `status` and MLflow `code`.
async function expectError(name, fn, status, code, msgPart) {
  let res;
  try {
    res = await call(fn);
  } catch (e) {
    const err = parseClientError(e);
    if (!err) return fail(name, `unparsable client error: ${e && e.message}`);
    const d = err.data;
    const ok = err.status === status && d !== null && typeof d === 'object' &&
      d.error_code === code && typeof d.message === 'string' &&
      (msgPart === undefined || d.message.includes(msgPart));
    return check(name, ok, `got status ${err.status} data ${JSON.stringify(d)}, expected ${status} ` +
      `{"error_code":"${code}"${msgPart ? `, message containing "${msgPart}"` : ''}}`);
  }
  return fail(name, `call succeeded (${JSON.stringify(res)}), expected ${status} ${code}`);
}

// Run one step; an unexpected exception becomes a FAIL line and the step's
// remaining checks are skipped.
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    const err = parseClientError(e);
    fail(name, err ? `client error ${JSON.stringify(err)}` : (e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : String(e)));
  }
}

// --------------------------------------------------------------- the server

function serverBinary() {
  const build = process.env.GREENTRACK_BUILD || 'build/release';
  const cands = path.isAbsolute(build) ? [build] : [path.resolve(build), path.join(ROOT, build)];
  for (const c of cands) {
    const b = path.join(c, 'bin', 'greentrack-server');
    if (fs.existsSync(b)) return b;
  }
  return path.join(cands[cands.length - 1], 'bin', 'greentrack-server');
}

function startServer(tmp) {
  const bin = serverBinary();
  if (!fs.existsSync(bin)) throw new Error(`server binary not found: ${bin} (build with make)`);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GREENTRACK_')) env[k] = v;
  const artifactRoot = path.join(tmp, 'artifacts');
  fs.mkdirSync(artifactRoot);
  const proc = spawn(bin, ['--port', '0', '--db', dbTarget(tmp),
    '--artifact-root', artifactRoot, '--log-level', 'warn'],
  { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = { proc, stderr: '', exit: null, artifactRoot };
  srv.exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => { srv.exit = { code, signal }; resolve(srv.exit); });
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { if (srv.stderr.length < 20000) srv.stderr += d; });
  proc.stdout.setEncoding('utf8');
  srv.ready = new Promise((resolve, reject) => {
    let buf = '';
    let done = false;
    const timer = setTimeout(() => {
      if (!done) { done = true; reject(new Error(`no "listening" line within ${START_TIMEOUT_MS} ms; stdout=${JSON.stringify(buf)} stderr=${JSON.stringify(srv.stderr)}`)); }
    }, START_TIMEOUT_MS);
    proc.stdout.on('data', (d) => {
      if (done) return;
      buf += d;
      for (const line of buf.split('\n').slice(0, -1)) {
        const m = /^greentrack-server listening on http:\/\/(\S+):(\d+)$/.exec(line.trim());
        if (m) {
          done = true; clearTimeout(timer);
          let host = m[1];
          if (host === '0.0.0.0' || host === '::' || host === '[::]') host = '127.0.0.1';
          resolve({ host, port: Number(m[2]) });
          return;
        }
      }
    });
    proc.on('error', (e) => { if (!done) { done = true; clearTimeout(timer); reject(e); } });
    srv.exited.then((x) => {
      if (!done) { done = true; clearTimeout(timer); reject(new Error(`server exited early ${JSON.stringify(x)}: ${srv.stderr}`)); }
    });
  });
  return srv;
}

async function stopServer(srv) {
  if (srv.exit === null) srv.proc.kill('SIGTERM');
  let timer;
  const res = await Promise.race([
    srv.exited,
    new Promise((r) => { timer = setTimeout(() => r(null), STOP_TIMEOUT_MS); }),
  ]);
  clearTimeout(timer);
  if (res === null) {
    srv.proc.kill('SIGKILL');
    await srv.exited;
    return fail('server exits 0 on SIGTERM', `still running ${STOP_TIMEOUT_MS} ms after SIGTERM (killed)`);
  }
  return check('server exits 0 on SIGTERM', res.code === 0 && res.signal === null,
    `exit ${JSON.stringify(res)}; stderr: ${srv.stderr.slice(-800)}`);
}

// -------------------------------------------------------------- the checks

const HEX32 = /^[0-9a-f]{32}$/;
const EXP_ID = /^[a-zA-Z0-9][\w-]{0,63}$/;
const byKey = (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const sorted = (list) => [...(list || [])].sort(byKey);
const ids = (res) => ((res && res.runs) || []).map((r) => r.info.run_id);

async function runChecks(MLflow, endpoint, srv) {
  const ml = new MLflow({ endpoint });
  const tag = randomUUID().slice(0, 8);
  const expName = `npm-exp-${tag}`;
  const t0 = Date.now() - 60000;
  const S = {}; // state shared between steps

  await step('experiments/create', async () => {
    const res = await call(() => ml.Experiments.create({ name: expName }));
    S.exp = res && res.experiment_id;
    check('experiments/create returns string experiment_id',
      typeof S.exp === 'string' && EXP_ID.test(S.exp), `got ${JSON.stringify(res)}`);
  });
  if (typeof S.exp !== 'string') throw new Error('cannot continue without an experiment');

  await expectError('experiments/create duplicate name -> 400 RESOURCE_ALREADY_EXISTS',
    () => ml.Experiments.create({ name: expName }), 400, 'RESOURCE_ALREADY_EXISTS');

  await step('experiments/list', async () => {
    const res = await call(() => ml.Experiments.list());
    const exps = (res && res.experiments) || [];
    check('experiments/list (legacy GET, no view_type) returns experiments array',
      Array.isArray(res && res.experiments), `got ${show(res)}`);
    const mine = exps.find((e) => e.experiment_id === S.exp);
    check('experiments/list contains the new experiment by name',
      !!mine && mine.name === expName && mine.lifecycle_stage === 'active', `got ${show(exps)}`);
    const dflt = exps.find((e) => e.experiment_id === '0');
    check('experiments/list contains Default experiment "0"',
      !!dflt && dflt.name === 'Default', `got ${show(exps.map((e) => [e.experiment_id, e.name]))}`);
  });

  await step('experiments/get', async () => {
    const res = await call(() => ml.Experiments.get({ experiment_id: S.exp }));
    const e = res && res.experiment;
    check('experiments/get returns the experiment',
      !!e && e.experiment_id === S.exp && e.name === expName && e.lifecycle_stage === 'active',
      `got ${show(res)}`);
    check('experiments/get creation_time/last_update_time are int64 JSON numbers',
      !!e && Number.isInteger(e.creation_time) && Number.isInteger(e.last_update_time) &&
      e.creation_time >= t0, `got ${show(e)}`);
    check('experiments/get artifact_location is a non-empty string',
      !!e && typeof e.artifact_location === 'string' && e.artifact_location.length > 0, `got ${show(e)}`);
  });

  await expectError('experiments/get unknown id -> 404 RESOURCE_DOES_NOT_EXIST',
    () => ml.Experiments.get({ experiment_id: '987654321' }), 404, 'RESOURCE_DOES_NOT_EXIST');

  // update/delete/restore on a scratch experiment (deleting one cascades to its runs)
  await step('experiments/update+delete+restore', async () => {
    const scratch = `npm-scratch-${tag}`;
    const renamed = `npm-renamed-${tag}`;
    const c = await call(() => ml.Experiments.create({ name: scratch }));
    const id = c.experiment_id;
    const u = await call(() => ml.Experiments.update({ experiment_id: id, new_name: renamed }));
    check('experiments/update answers a JSON object (not an empty body)',
      u !== null && typeof u === 'object', `got ${show(u)}`);
    let g = await call(() => ml.Experiments.get({ experiment_id: id }));
    eq('experiments/update renames', g.experiment.name, renamed);

    const d = await call(() => ml.Experiments.delete({ experiment_id: id }));
    check('experiments/delete answers a JSON object', d !== null && typeof d === 'object', `got ${show(d)}`);
    g = await call(() => ml.Experiments.get({ experiment_id: id }));
    eq('experiments/get after delete shows lifecycle_stage deleted', g.experiment.lifecycle_stage, 'deleted');
    let l = await call(() => ml.Experiments.list());
    check('experiments/list (default view) hides the deleted experiment',
      !((l && l.experiments) || []).some((e) => e.experiment_id === id), `got ${show(l)}`);
    l = await call(() => ml.Experiments.list({ view_type: 'DELETED_ONLY' }));
    check('experiments/list view_type=DELETED_ONLY shows only deleted ones incl. it',
      ((l && l.experiments) || []).some((e) => e.experiment_id === id) &&
      ((l && l.experiments) || []).every((e) => e.lifecycle_stage === 'deleted'), `got ${show(l)}`);
    l = await call(() => ml.Experiments.list({ view_type: 'ALL' }));
    const all = ((l && l.experiments) || []).map((e) => e.experiment_id);
    check('experiments/list view_type=ALL shows active and deleted',
      all.includes(id) && all.includes(S.exp), `got ${show(all)}`);

    const r = await call(() => ml.Experiments.restore({ experiment_id: id }));
    check('experiments/restore answers a JSON object', r !== null && typeof r === 'object', `got ${show(r)}`);
    g = await call(() => ml.Experiments.get({ experiment_id: id }));
    eq('experiments/get after restore shows lifecycle_stage active', g.experiment.lifecycle_stage, 'active');
    await expectError('experiments/restore of an active experiment -> 404 RESOURCE_DOES_NOT_EXIST',
      () => ml.Experiments.restore({ experiment_id: id }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });

  // ---- runs
  const mkRun = async (label, start, tags) => {
    const res = await call(() => ml.Runs.create({
      experiment_id: S.exp, user_id: 'npm-user', start_time: start, tags,
    }));
    return res && res.run;
  };
  await step('runs/create', async () => {
    S.a = await mkRun('a', t0, [
      { key: 'mlflow.runName', value: `run-a-${tag}` },
      { key: 'team', value: 'green' },
      { key: 'model class', value: 'resnet-50' },
    ]);
    const i = S.a && S.a.info;
    check('runs/create run_id is 32 lowercase hex, run_uuid equal',
      !!i && HEX32.test(i.run_id) && i.run_uuid === i.run_id, `got ${show(S.a)}`);
    eq('runs/create info fields', i && {
      experiment_id: i.experiment_id, user_id: i.user_id, status: i.status,
      start_time: i.start_time, lifecycle_stage: i.lifecycle_stage, end_time: i.end_time,
    }, {
      experiment_id: S.exp, user_id: 'npm-user', status: 'RUNNING',
      start_time: t0, lifecycle_stage: 'active', end_time: undefined,
    });
    eq('runs/create run_name comes from the mlflow.runName tag', i && i.run_name, `run-a-${tag}`);
    check('runs/create artifact_uri ends with /<run_id>/artifacts',
      !!i && typeof i.artifact_uri === 'string' && i.artifact_uri.endsWith(`/${i.run_id}/artifacts`),
      `got ${show(i && i.artifact_uri)}`);
    eq('runs/create echoes the tags', sorted(S.a && S.a.data && S.a.data.tags), sorted([
      { key: 'mlflow.runName', value: `run-a-${tag}` },
      { key: 'team', value: 'green' },
      { key: 'model class', value: 'resnet-50' },
    ]));
    S.b = await mkRun('b', t0 + 1000, [
      { key: 'mlflow.runName', value: `run-b-${tag}` },
      { key: 'team', value: 'blue' },
      { key: 'model class', value: 'vgg-16' },
    ]);
    S.c = await mkRun('c', t0 + 2000, [{ key: 'mlflow.runName', value: `run-c-${tag}` }]);
    check('runs/create three distinct runs',
      !!(S.b && S.c) && new Set([S.a.info.run_id, S.b.info.run_id, S.c.info.run_id]).size === 3,
      `got ${show([S.b, S.c])}`);
  });
  if (!(S.a && S.b && S.c)) throw new Error('cannot continue without runs');
  const A = S.a.info.run_id;
  const B = S.b.info.run_id;
  const C = S.c.info.run_id;

  await step('runs/log-parameter', async () => {
    const r1 = await call(() => ml.Runs.logParameter({ run_id: A, key: 'lr', value: '0.01' }));
    check('runs/log-parameter answers a JSON object', r1 !== null && typeof r1 === 'object', `got ${show(r1)}`);
    const r2 = await call(() => ml.Runs.logParameter({ run_id: A, key: 'lr', value: '0.01' }));
    check('runs/log-parameter same value again is idempotent 200', r2 !== null && typeof r2 === 'object', `got ${show(r2)}`);
    await expectError('runs/log-parameter changed value -> 400 INVALID_PARAMETER_VALUE',
      () => ml.Runs.logParameter({ run_id: A, key: 'lr', value: '0.02' }), 400,
      'INVALID_PARAMETER_VALUE', 'Changing param values is not allowed');
    await call(() => ml.Runs.logParameter({ run_id: B, key: 'lr', value: '0.02' }));
  });

  const accA = [0.5, 0.7, 0.9];
  const accB = [0.3, 0.45, 0.6];
  const accC = [0.1, 0.15, 0.2];
  await step('runs/log-metric', async () => {
    for (let s = 0; s < 3; s++) {
      const r = await call(() => ml.Runs.logMetric({ run_id: A, key: 'acc', value: accA[s], timestamp: t0 + 10 + s, step: s }));
      if (s === 0) check('runs/log-metric answers a JSON object', r !== null && typeof r === 'object', `got ${show(r)}`);
      await call(() => ml.Runs.logMetric({ run_id: B, key: 'acc', value: accB[s], timestamp: t0 + 1010 + s, step: s }));
      await call(() => ml.Runs.logMetric({ run_id: C, key: 'acc', value: accC[s], timestamp: t0 + 2010 + s, step: s }));
    }
    pass('runs/log-metric steps 0..2 on three runs');
  });

  await step('runs/set-tag + delete-tag', async () => {
    await call(() => ml.Runs.setTag({ run_id: A, key: 'stage', value: 'dev' }));
    const r = await call(() => ml.Runs.setTag({ run_id: A, key: 'stage', value: 'prod' }));
    check('runs/set-tag overwrite answers a JSON object', r !== null && typeof r === 'object', `got ${show(r)}`);
    await call(() => ml.Runs.setTag({ run_id: A, key: 'tmp', value: 'x' }));
    const d = await call(() => ml.Runs.deleteTag({ run_id: A, key: 'tmp' }));
    check('runs/delete-tag answers a JSON object', d !== null && typeof d === 'object', `got ${show(d)}`);
    await expectError('runs/delete-tag of a missing key -> 404 RESOURCE_DOES_NOT_EXIST',
      () => ml.Runs.deleteTag({ run_id: A, key: 'tmp' }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });

  await step('runs/log-batch', async () => {
    const r = await call(() => ml.Runs.logBatch({
      run_id: A,
      metrics: [
        { key: 'loss', value: 0.25, timestamp: t0 + 100, step: 0 },
        { key: 'loss', value: 0.125, timestamp: t0 + 101, step: 1 },
      ],
      params: [{ key: 'optimizer', value: 'adam' }, { key: 'batch_size', value: '32' }],
      tags: [{ key: 'framework', value: 'torch' }],
    }));
    check('runs/log-batch answers a JSON object', r !== null && typeof r === 'object', `got ${show(r)}`);
  });

  await step('runs/get', async () => {
    const res = await call(() => ml.Runs.get({ run_id: A }));
    const run = res && res.run;
    eq('runs/get info (strict)', run && run.info, {
      run_id: A, run_uuid: A, run_name: `run-a-${tag}`, experiment_id: S.exp,
      user_id: 'npm-user', status: 'RUNNING', start_time: t0,
      artifact_uri: S.a.info.artifact_uri, lifecycle_stage: 'active',
    });
    eq('runs/get params (strict)', sorted(run && run.data && run.data.params), sorted([
      { key: 'lr', value: '0.01' }, { key: 'optimizer', value: 'adam' }, { key: 'batch_size', value: '32' },
    ]));
    eq('runs/get latest metrics (strict, int64 as numbers)', sorted(run && run.data && run.data.metrics), [
      { key: 'acc', value: 0.9, timestamp: t0 + 12, step: 2 },
      { key: 'loss', value: 0.125, timestamp: t0 + 101, step: 1 },
    ]);
    eq('runs/get tags (overwrite kept, deleted tag gone)', sorted(run && run.data && run.data.tags), sorted([
      { key: 'mlflow.runName', value: `run-a-${tag}` },
      { key: 'team', value: 'green' },
      { key: 'model class', value: 'resnet-50' },
      { key: 'stage', value: 'prod' },
      { key: 'framework', value: 'torch' },
    ]));
  });

  await step('metrics/get-history', async () => {
    let h = await call(() => ml.Metrics.getHistory({ run_id: A, metric_key: 'acc' }));
    eq('metrics/get-history acc on run A (strict)', h && h.metrics,
      accA.map((v, s) => ({ key: 'acc', value: v, timestamp: t0 + 10 + s, step: s })));
    h = await call(() => ml.Metrics.getHistory({ run_id: A, metric_key: 'loss' }));
    eq('metrics/get-history loss on run A (from log-batch)', h && h.metrics, [
      { key: 'loss', value: 0.25, timestamp: t0 + 100, step: 0 },
      { key: 'loss', value: 0.125, timestamp: t0 + 101, step: 1 },
    ]);
    h = await call(() => ml.Metrics.getHistory({ run_id: B, metric_key: 'acc' }));
    eq('metrics/get-history acc on run B', h && h.metrics,
      accB.map((v, s) => ({ key: 'acc', value: v, timestamp: t0 + 1010 + s, step: s })));
    h = await call(() => ml.Metrics.getHistory({ run_id: A, metric_key: 'nope' }));
    check('metrics/get-history unknown key -> 200 with no points',
      h !== null && typeof h === 'object' && ((h.metrics || []).length === 0), `got ${show(h)}`);
  });

  const search = (args) => call(() => ml.Runs.search({ experiment_ids: [S.exp], ...args }));
  await step('runs/search', async () => {
    let r = await search({ filter: 'metrics.acc > 0.5', order_by: ['metrics.acc DESC'], run_view_type: 'ACTIVE_ONLY' });
    eq('runs/search metrics.acc > 0.5 order_by DESC', ids(r), [A, B]);
    check('runs/search results carry latest metric value', r && r.runs && r.runs[0] &&
      (r.runs[0].data.metrics || []).some((m) => m.key === 'acc' && m.value === 0.9), `got ${show(r && r.runs && r.runs[0])}`);
    r = await search({ filter: 'metrics.acc > 0.5', order_by: ['metrics.acc ASC'] });
    eq('runs/search metrics.acc > 0.5 order_by ASC', ids(r), [B, A]);
    r = await search({ filter: "params.lr = '0.01' and tags.`team` = 'green'" });
    eq('runs/search params + backtick tag filter', ids(r), [A]);
    r = await search({ filter: "params.lr = '0.02' AND tags.`team` = 'green'" });
    check('runs/search params + backtick tag filter, no match -> no runs',
      r !== null && typeof r === 'object' && ids(r).length === 0, `got ${show(r)}`);
    r = await search({ filter: 'tags."model class" LIKE \'res%\'' });
    eq('runs/search LIKE on double-quoted tag key', ids(r), [A]);
    r = await search({ filter: 'tags."model class" LIKE \'%-16\'' });
    eq('runs/search LIKE suffix on double-quoted tag key', ids(r), [B]);
    r = await search({ filter: 'tags."model class" LIKE \'RES%\'' });
    eq('runs/search LIKE is case-sensitive', ids(r), []);
    r = await search({});
    eq('runs/search default order is start_time DESC', ids(r), [C, B, A]);
  });

  await step('runs/search paging', async () => {
    const seen = [];
    let token;
    let pages = 0;
    let bad = null;
    do {
      const r = await search({ max_results: 1, page_token: token });
      pages++;
      const got = ids(r);
      if (got.length > 1) bad = `page ${pages} has ${got.length} runs`;
      seen.push(...got);
      token = r && r.next_page_token;
      if (token !== undefined && (typeof token !== 'string' || token === '')) {
        bad = `next_page_token ${JSON.stringify(token)} (should be absent when done)`;
        break;
      }
    } while (token && pages < 10);
    check('runs/search paging max_results=1 returns one run per page', bad === null, bad);
    eq('runs/search paging visits every run once, in order', seen, [C, B, A]);
    check('runs/search paging ends (token absent) within 4 pages', pages <= 4 && !token, `pages=${pages} token=${JSON.stringify(token)}`);
  });

  await step('runs/delete + view types', async () => {
    const d = await call(() => ml.Runs.delete({ run_id: C }));
    check('runs/delete answers a JSON object', d !== null && typeof d === 'object', `got ${show(d)}`);
    let r = await search({ run_view_type: 'ACTIVE_ONLY' });
    eq('runs/search ACTIVE_ONLY after delete', ids(r), [B, A]);
    r = await search({ run_view_type: 'DELETED_ONLY' });
    eq('runs/search DELETED_ONLY after delete', ids(r), [C]);
    r = await search({ run_view_type: 'ALL' });
    eq('runs/search ALL after delete', ids(r), [C, B, A]);
    const g = await call(() => ml.Runs.get({ run_id: C }));
    eq('runs/get of a deleted run shows lifecycle_stage deleted', g && g.run && g.run.info.lifecycle_stage, 'deleted');
    await expectError('runs/log-metric on a deleted run -> 400 INVALID_PARAMETER_VALUE',
      () => ml.Runs.logMetric({ run_id: C, key: 'acc', value: 1, timestamp: t0, step: 9 }), 400, 'INVALID_PARAMETER_VALUE');
    const rs = await call(() => ml.Runs.restore({ run_id: C }));
    check('runs/restore answers a JSON object', rs !== null && typeof rs === 'object', `got ${show(rs)}`);
    r = await search({ run_view_type: 'DELETED_ONLY' });
    check('runs/search DELETED_ONLY after restore is empty', r !== null && ids(r).length === 0, `got ${show(r)}`);
  });

  await step('runs/update', async () => {
    const end = t0 + 5000;
    const u = await call(() => ml.Runs.update({ run_id: A, status: 'FINISHED', end_time: end }));
    const ri = u && u.run_info;
    check('runs/update returns run_info with FINISHED and end_time',
      !!ri && ri.run_id === A && ri.status === 'FINISHED' && ri.end_time === end, `got ${show(u)}`);
    const g = await call(() => ml.Runs.get({ run_id: A }));
    eq('runs/get after update', g && g.run && { status: g.run.info.status, end_time: g.run.info.end_time, run_name: g.run.info.run_name },
      { status: 'FINISHED', end_time: end, run_name: `run-a-${tag}` });
    let r = await search({ filter: "attributes.status = 'FINISHED'" });
    eq("runs/search attributes.status = 'FINISHED'", ids(r), [A]);
    r = await search({ filter: "status = 'RUNNING'" });
    eq("runs/search status = 'RUNNING'", ids(r), [C, B]);
    r = await search({ filter: `end_time = ${end}` });
    eq('runs/search end_time = <int64>', ids(r), [A]);
  });

  await step('artifacts/list', async () => {
    const res = await call(() => ml.Artifacts.list({ run_id: A }));
    check('artifacts/list root_uri is the run artifact_uri, no files yet',
      res !== null && typeof res === 'object' && res.root_uri === S.a.info.artifact_uri &&
      (res.files === undefined || (Array.isArray(res.files) && res.files.length === 0)), `got ${show(res)}`);
    // If the artifact URI is a local path / file: URI under our artifact root,
    // put a file there (as a Python client would) and list it.
    let local = null;
    const uri = S.a.info.artifact_uri;
    if (uri.startsWith('file://')) local = decodeURIComponent(new URL(uri).pathname);
    else if (uri.startsWith('file:')) local = uri.slice(5);
    else if (path.isAbsolute(uri)) local = uri;
    if (uri.startsWith('mlflow-artifacts:/')) {
      // served (the default): upload through the artifact proxy, as the
      // Python client does, then list through the tracking API
      const rel = uri.slice('mlflow-artifacts:/'.length);
      const put = await fetch(`${endpoint}/api/2.0/mlflow-artifacts/artifacts/${rel}/model/MLmodel`,
        { method: 'PUT', body: 'flavors: {}\n' });
      check('artifact proxy PUT model/MLmodel -> 200 {}', put.status === 200 && (await put.text()) === '{}',
        `got ${put.status}`);
      local = path.join(srv.artifactRoot, rel);
    }
    if (local && path.resolve(local).startsWith(fs.realpathSync(srv.artifactRoot))) {
      fs.mkdirSync(path.join(local, 'model'), { recursive: true });
      if (!fs.existsSync(path.join(local, 'model', 'MLmodel')))
        fs.writeFileSync(path.join(local, 'model', 'MLmodel'), 'flavors: {}\n');
      const top = await call(() => ml.Artifacts.list({ run_id: A }));
      eq('artifacts/list shows a directory', top && top.files, [{ path: 'model', is_dir: true }]);
      const sub = await call(() => ml.Artifacts.list({ run_id: A, path: 'model' }));
      eq('artifacts/list path=model shows the file with size', sub && sub.files,
        [{ path: 'model/MLmodel', is_dir: false, file_size: 12 }]);
    }
  });

  await expectError('runs/get unknown run -> 404 RESOURCE_DOES_NOT_EXIST',
    () => ml.Runs.get({ run_id: 'f'.repeat(32) }), 404, 'RESOURCE_DOES_NOT_EXIST');
  await expectError('runs/log-metric unknown run -> 404 RESOURCE_DOES_NOT_EXIST',
    () => ml.Runs.logMetric({ run_id: 'e'.repeat(32), key: 'acc', value: 1, timestamp: t0, step: 0 }), 404, 'RESOURCE_DOES_NOT_EXIST');
  await expectError('metrics/get-history unknown run -> 404 RESOURCE_DOES_NOT_EXIST',
    () => ml.Metrics.getHistory({ run_id: 'd'.repeat(32), metric_key: 'acc' }), 404, 'RESOURCE_DOES_NOT_EXIST');
}

// -------------------------------------------------------- the model registry
//
// mlflow@2.0.7 has no registry methods (only Experiments, Runs, Metrics and
// Artifacts): these helpers are thin subclasses of the package's own
// transport, MLflowBase.req (exported by lib/mlflow.js), so every call goes
// over the wire exactly as the package sends requests: POST and PATCH with a
// JSON body, GET and DELETE with a querystring (its DELETE has no body).
// PATCH is named in upper case: fetch normalises only the standard methods'
// case.

function registryClients(pkgDir, endpoint) {
  const require = createRequire(path.join(HERE, 'package.json'));
  const { MLflowBase } = require(path.join(pkgDir, 'lib', 'mlflow.js'));
  class RegisteredModels extends MLflowBase {
    constructor(a) { super(a); this.path = '/registered-models'; }
    create(p) { return this.req('POST', '/create', p); }
    get(p) { return this.req('GET', '/get', p); }
    rename(p) { return this.req('POST', '/rename', p); }
    update(p) { return this.req('PATCH', '/update', p); }
    delete(p) { return this.req('DELETE', '/delete', p); }
    search(p) { return this.req('GET', '/search', p); }
    getLatestVersions(p) { return this.req('POST', '/get-latest-versions', p); }
    setTag(p) { return this.req('POST', '/set-tag', p); }
    deleteTag(p) { return this.req('DELETE', '/delete-tag', p); }
    setAlias(p) { return this.req('POST', '/alias', p); }
    deleteAlias(p) { return this.req('DELETE', '/alias', p); }
    getByAlias(p) { return this.req('GET', '/alias', p); }
  }
  class ModelVersions extends MLflowBase {
    constructor(a) { super(a); this.path = '/model-versions'; }
    create(p) { return this.req('POST', '/create', p); }
    get(p) { return this.req('GET', '/get', p); }
    update(p) { return this.req('PATCH', '/update', p); }
    delete(p) { return this.req('DELETE', '/delete', p); }
    search(p) { return this.req('GET', '/search', p); }
    transitionStage(p) { return this.req('POST', '/transition-stage', p); }
    getDownloadUri(p) { return this.req('GET', '/get-download-uri', p); }
    setTag(p) { return this.req('POST', '/set-tag', p); }
    deleteTag(p) { return this.req('DELETE', '/delete-tag', p); }
  }
  return { rm: new RegisteredModels({ endpoint }), mv: new ModelVersions({ endpoint }) };
}

async function registryChecks(MLflow, pkgDir, endpoint) {
  const ml = new MLflow({ endpoint });
  const { rm, mv } = registryClients(pkgDir, endpoint);
  const tag = randomUUID().slice(0, 8);
  const name = `npm-model-${tag}`;
  const R = {};

  await step('registry: a run to register', async () => {
    const e = await call(() => ml.Experiments.create({ name: `npm-reg-${tag}` }));
    const r = await call(() => ml.Runs.create({ experiment_id: e.experiment_id, start_time: Date.now() }));
    R.run = r.run.info;
  });
  if (!R.run) return;

  await step('registry: register_model sequence', async () => {
    const c = await call(() => rm.create({ name, description: 'from npm', tags: [{ key: 'team', value: 'green' }] }));
    const m = c && c.registered_model;
    check('registered-models/create returns the model',
      !!m && m.name === name && m.description === 'from npm' && Number.isInteger(m.creation_timestamp) &&
      m.last_updated_timestamp === m.creation_timestamp, `got ${show(c)}`);
    await expectError('registered-models/create duplicate -> 400 RESOURCE_ALREADY_EXISTS',
      () => rm.create({ name }), 400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
    R.source = `${R.run.artifact_uri}/model`;
    const v = await call(() => mv.create({ name, source: R.source, run_id: R.run.run_id }));
    const ver = v && v.model_version;
    eq('model-versions/create answers version "1", READY, stage None', ver && {
      name: ver.name, version: ver.version, status: ver.status, current_stage: ver.current_stage,
      source: ver.source, run_id: ver.run_id, description: ver.description, run_link: ver.run_link,
    }, { name, version: '1', status: 'READY', current_stage: 'None', source: R.source,
      run_id: R.run.run_id, description: '', run_link: '' });
    const g = await call(() => mv.get({ name, version: '1' }));
    eq('model-versions/get polls READY at once (strict)', g && g.model_version, ver);
    const v2 = await call(() => mv.create({ name, source: `runs:/${R.run.run_id}/model` }));
    eq('model-versions/create numbers per model', v2 && v2.model_version && v2.model_version.version, '2');
  });

  await step('registry: get, update, tags', async () => {
    const u = await call(() => rm.update({ name, description: 'patched' }));
    eq('registered-models/update (PATCH body) sets the description',
      u && u.registered_model && u.registered_model.description, 'patched');
    const mu = await call(() => mv.update({ name, version: '1', description: 'v1 notes' }));
    eq('model-versions/update (PATCH body)', mu && mu.model_version && mu.model_version.description, 'v1 notes');
    await call(() => rm.setTag({ name, key: 'stage', value: 'dev' }));
    await call(() => mv.setTag({ name, version: '1', key: 'k', value: 'v' }));
    let g = await call(() => rm.get({ name }));
    eq('registered-models/get tags after set-tag', sorted(g.registered_model.tags),
      sorted([{ key: 'team', value: 'green' }, { key: 'stage', value: 'dev' }]));
    eq('registered-models/get latest_versions (one per stage)',
      (g.registered_model.latest_versions || []).map((x) => [x.current_stage, x.version]), [['None', '2']]);
    const d = await call(() => rm.deleteTag({ name, key: 'stage' }));
    check('registered-models/delete-tag (DELETE, querystring) answers {}', isDeepStrictEqual(d, {}), `got ${show(d)}`);
    await call(() => mv.deleteTag({ name, version: '1', key: 'k' }));
    g = await call(() => mv.get({ name, version: 1 }));
    check('model-versions/delete-tag removed the tag', !g.model_version.tags, `got ${show(g)}`);
    await expectError('registered-models/get unknown -> 404 RESOURCE_DOES_NOT_EXIST',
      () => rm.get({ name: `nope-${tag}` }), 404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=nope-${tag} not found`);
    await expectError('model-versions/get non-integer version -> 400',
      () => mv.get({ name, version: 'x' }), 400, 'INVALID_PARAMETER_VALUE', "Model version must be an integer, got 'x'");
  });

  await step('registry: aliases and stages', async () => {
    await call(() => rm.setAlias({ name, alias: 'champion', version: '1' }));
    const a = await call(() => rm.getByAlias({ name, alias: 'champion' }));
    eq('registered-models/alias GET returns the version with its aliases',
      a && a.model_version && [a.model_version.version, a.model_version.aliases], ['1', ['champion']]);
    await expectError('registered-models/alias reserved name -> 400',
      () => rm.setAlias({ name, alias: 'latest', version: '1' }), 400, 'INVALID_PARAMETER_VALUE');
    await call(() => mv.transitionStage({ name, version: '1', stage: 'Production', archive_existing_versions: false }));
    const t = await call(() => mv.transitionStage({ name, version: '2', stage: 'production', archive_existing_versions: true }));
    eq('transition-stage canonicalises the stage', t && t.model_version && t.model_version.current_stage, 'Production');
    const one = await call(() => mv.get({ name, version: '1' }));
    eq('transition-stage archive_existing_versions archives the other', one.model_version.current_stage, 'Archived');
    const l = await call(() => rm.getLatestVersions({ name, stages: ['Production'] }));
    eq('get-latest-versions (POST) Production', (l.model_versions || []).map((x) => x.version), ['2']);
    const all = await call(() => rm.getLatestVersions({ name }));
    eq('get-latest-versions with no stages: all four stages',
      (all.model_versions || []).map((x) => [x.current_stage, x.version]).sort(), [['Archived', '1'], ['Production', '2']]);
    await expectError('transition-stage bad stage -> 400',
      () => mv.transitionStage({ name, version: '1', stage: 'prod', archive_existing_versions: false }),
      400, 'INVALID_PARAMETER_VALUE', 'Invalid Model Version stage: prod');
    await call(() => rm.deleteAlias({ name, alias: 'champion' }));
    await expectError('registered-models/alias GET after delete -> 400',
      () => rm.getByAlias({ name, alias: 'champion' }), 400, 'INVALID_PARAMETER_VALUE', 'Registered model alias champion not found.');
    const u = await call(() => mv.getDownloadUri({ name, version: '1' }));
    eq('get-download-uri returns the source unchanged', u, { artifact_uri: R.source });
  });

  await step('registry: search and paging', async () => {
    const s = await call(() => rm.search({ filter: `name = '${name}'` }));
    eq('registered-models/search by name', (s.registered_models || []).map((m) => m.name), [name]);
    const t = await call(() => rm.search({ filter: "tags.team = 'green'", order_by: ['name DESC'], max_results: 10 }));
    check('registered-models/search by tag with order_by', (t.registered_models || []).some((m) => m.name === name), `got ${show(t)}`);
    const v = await call(() => mv.search({ filter: `run_id = '${R.run.run_id}'` }));
    eq('model-versions/search by run_id', (v.model_versions || []).map((x) => [x.name, x.version]), [[name, '1']]);
    const seen = [];
    let token;
    let pages = 0;
    do {
      const p = await call(() => mv.search({ filter: `name = '${name}'`, max_results: 1, order_by: ['version_number ASC'], page_token: token }));
      pages++;
      seen.push(...(p.model_versions || []).map((x) => x.version));
      token = p.next_page_token;
    } while (token && pages < 5);
    eq('model-versions/search pages of one, in order, no token at the end', [seen, pages, token], [['1', '2'], 2, undefined]);
    await expectError('model-versions/search bad filter -> 400',
      () => mv.search({ filter: "current_stage = 'None'" }), 400, 'INVALID_PARAMETER_VALUE', 'Invalid attribute key');
  });

  await step('registry: rename and delete', async () => {
    const renamed = `${name}-renamed`;
    const r = await call(() => rm.rename({ name, new_name: renamed }));
    eq('registered-models/rename keeps the versions', r && r.registered_model &&
      [r.registered_model.name, (r.registered_model.latest_versions || []).map((x) => x.version).sort()],
    [renamed, ['1', '2']]);
    await expectError('registered-models/get old name after rename -> 404',
      () => rm.get({ name }), 404, 'RESOURCE_DOES_NOT_EXIST');
    const d = await call(() => mv.delete({ name: renamed, version: '2' }));
    check('model-versions/delete (DELETE, querystring) answers {}', isDeepStrictEqual(d, {}), `got ${show(d)}`);
    await expectError('model-versions/get deleted -> 404',
      () => mv.get({ name: renamed, version: '2' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    const n = await call(() => mv.create({ name: renamed, source: 's3://bucket/m' }));
    eq('a deleted version number is not reused', n.model_version.version, '3');
    await call(() => rm.delete({ name: renamed }));
    await expectError('registered-models/get after delete -> 404',
      () => rm.get({ name: renamed }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });
}

// --------------------------------------------------------------------- main

// ------------------------------------- MLflow 2.9.2's UI calls and messages
//
// The same package transport (MLflowBase.req) pointed at what MLflow's web
// UI calls under /ajax-api/2.0/mlflow/, and MLflow 2.9.2's wording for the
// failures the package's own calls can meet.

function uiClients(pkgDir, endpoint) {
  const require = createRequire(path.join(HERE, 'package.json'));
  const { MLflowBase } = require(path.join(pkgDir, 'lib', 'mlflow.js'));
  class Ui extends MLflowBase {
    requestUrl(p) { return `${this.endpoint}/ajax-api/2.0/mlflow${p}`; }
    historyBulk(p) { return this.req('get', '/metrics/get-history-bulk', p); }
    searchDatasets(p) { return this.req('post', '/experiments/search-datasets', p); }
  }
  class RunsMore extends MLflowBase {
    constructor(a) { super(a); this.path = '/runs'; }
    logInputs(p) { return this.req('post', '/log-inputs', p); }
  }
  return { ui: new Ui({ endpoint }), runs: new RunsMore({ endpoint }) };
}

async function conformanceChecks(MLflow, pkgDir, endpoint, srv) {
  const ml = new MLflow({ endpoint });
  const { ui, runs } = uiClients(pkgDir, endpoint);
  const tag = randomUUID().slice(0, 8);
  const t0 = Date.now();
  const R = {};

  await step('conformance: runs with histories', async () => {
    const e = await call(() => ml.Experiments.create({ name: `npm-conf-${tag}` }));
    R.exp = e.experiment_id;
    R.ids = [];
    for (let i = 0; i < 3; i++) {
      const r = await call(() => ml.Runs.create({ experiment_id: R.exp, start_time: t0 }));
      R.ids.push(r.run.info.run_id);
      // logged out of order: (timestamp, step) = (5,1), (3,2), (3,1)
      for (const [ts, st] of [[5, 1], [3, 2], [3, 1]])
        await call(() => ml.Runs.logMetric({ run_id: r.run.info.run_id, key: 'loss', value: i + st / 10, timestamp: ts, step: st }));
    }
  });
  if (!R.ids) return;

  await step('conformance: get-history-bulk (UI)', async () => {
    const asked = [R.ids[2], R.ids[0], R.ids[1]];
    const b = await call(() => ui.historyBulk({ run_id: asked, metric_key: 'loss' }));
    const got = (b && b.metrics || []).map((m) => [m.run_id, m.timestamp, m.step]);
    const want = [];
    for (const id of [...R.ids].sort()) for (const [ts, st] of [[3, 1], [3, 2], [5, 1]]) want.push([id, ts, st]);
    eq('get-history-bulk rows by run id, then timestamp and step', got, want);
    const capped = await call(() => ui.historyBulk({ run_id: asked, metric_key: 'loss', max_results: 4 }));
    eq('get-history-bulk max_results caps all rows', capped && capped.metrics && capped.metrics.length, 4);
    const many = Array.from({ length: 1000 }, () => randomUUID().replace(/-/g, ''));
    await expectError('get-history-bulk with 1000 run ids -> MLflow\'s 400 (no hang)',
      () => ui.historyBulk({ run_id: many, metric_key: 'loss' }), 400, 'INVALID_PARAMETER_VALUE',
      'GetMetricHistoryBulk request cannot specify more than 20 run_ids. Received 1000 run_ids.');
    await expectError('get-history-bulk without run_id -> 400',
      () => ui.historyBulk({ metric_key: 'loss' }), 400, 'INVALID_PARAMETER_VALUE',
      'GetMetricHistoryBulk request must specify at least one run_id.');
  });

  await step('conformance: MLflow 2.9.2 messages', async () => {
    const A = R.ids[0];
    await expectError('log-batch metric without timestamp -> invalid metrics value',
      () => ml.Runs.logBatch({ run_id: A, metrics: [{ key: 'm', value: 1 }] }), 400, 'INVALID_PARAMETER_VALUE',
      "Invalid value [{'key': 'm', 'value': 1}] for parameter 'metrics' supplied. Hint: Value was of type 'list'.");
    await expectError('log-metric negative timestamp -> MLflow\'s message',
      () => ml.Runs.logMetric({ run_id: A, key: 'm', value: 2, timestamp: -1, step: 0 }), 400, 'INVALID_PARAMETER_VALUE',
      "Got invalid timestamp -1 for metric 'm' (value=2.0). Timestamp must be a nonnegative long (64-bit integer) ");
    await expectError('log-parameter bad key -> Invalid parameter name',
      () => ml.Runs.logParameter({ run_id: A, key: 'a//b', value: 'v' }), 400, 'INVALID_PARAMETER_VALUE',
      "Invalid parameter name: 'a//b'. Names may be treated as files in certain cases");
    await expectError('experiments/create numeric name -> its str() and type',
      () => ml.Experiments.create({ name: 123 }), 400, 'INVALID_PARAMETER_VALUE',
      "Invalid value 123 for parameter 'name' supplied. Hint: Value was of type 'int'.");
    await expectError('runs/log-inputs without datasets -> 400',
      () => runs.logInputs({ run_id: A }), 400, 'INVALID_PARAMETER_VALUE',
      "Missing value for required parameter 'datasets'.");
    const ok = await call(() => runs.logInputs({ run_id: A, datasets: [{ dataset: {
      name: 'train', digest: 'd1', source_type: 'local', source: '{}' },
      tags: [{ key: 'mlflow.data.context', value: 'training' }] }] }));
    check('runs/log-inputs with datasets -> {}', ok !== null && typeof ok === 'object', `got ${show(ok)}`);
    const d = await call(() => ui.searchDatasets({ experiment_ids: [R.exp] }));
    eq('experiments/search-datasets (UI)', d && d.dataset_summaries,
      [{ experiment_id: R.exp, name: 'train', digest: 'd1', context: 'training' }]);
  });

  await step('conformance: artifact locations', async () => {
    const e = await call(() => ml.Experiments.create({ name: `npm-rel-${tag}`, artifact_location: 'rel/loc' }));
    const g = await call(() => ml.Experiments.get({ experiment_id: e.experiment_id }));
    const loc = g && g.experiment && g.experiment.artifact_location;
    eq('relative artifact_location is taken from the server\'s directory', loc,
      path.join(fs.realpathSync(path.dirname(srv.artifactRoot)), 'rel', 'loc'));
    const abs = path.join(os.tmpdir(), `npm-abs-${tag}`);
    const e2 = await call(() => ml.Experiments.create({ name: `npm-abs-${tag}`, artifact_location: abs }));
    const g2 = await call(() => ml.Experiments.get({ experiment_id: e2.experiment_id }));
    eq('absolute artifact_location kept as given', g2 && g2.experiment && g2.experiment.artifact_location, abs);
  });

  await step('conformance: paths that are not the UI', async () => {
    for (const p of ['/api/2.0/mlflow/nope', '/get-artifact/x', '/model-versions/nope', '/missing.js',
      '/ajax-api/2.0/mlflow/gateway-proxy']) {
      const r = await fetch(`${endpoint}${p}`);
      const body = await r.json().catch(() => null);
      check(`${p} -> JSON 404 ENDPOINT_NOT_FOUND`, r.status === 404 && body && body.error_code === 'ENDPOINT_NOT_FOUND',
        `got ${r.status} ${show(body)}`);
    }
    const r = await fetch(`${endpoint}/get-artifact?path=../x&run_uuid=${R.ids[0]}`);
    const body = await r.json().catch(() => null);
    eq('/get-artifact bad path -> Invalid path', [r.status, body && body.message], [400, 'Invalid path']);
  });
}

async function main() {
  let srv = null;
  let tmp = null;
  const watchdog = setTimeout(() => {
    fail('watchdog', `test did not finish within ${WATCHDOG_MS} ms`);
    if (srv && srv.exit === null) srv.proc.kill('SIGKILL');
    write(`${SUITE}: ${passed} passed, ${failed} failed`);
    process.exit(1);
  }, WATCHDOG_MS);
  try {
    const pkgDir = ensurePackage();
    const require = createRequire(path.join(HERE, 'package.json'));
    const pkgVersion = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
    check('npm package mlflow is version 2.0.7', pkgVersion === '2.0.7', `installed ${pkgVersion}`);
    const MLflow = require(pkgDir);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-npm-'));
    srv = startServer(tmp);
    const { host, port } = await srv.ready;
    const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    await runChecks(MLflow, `http://${h}:${port}`, srv);
    await registryChecks(MLflow, pkgDir, `http://${h}:${port}`);
    await conformanceChecks(MLflow, pkgDir, `http://${h}:${port}`, srv);
  } catch (e) {
    fail('setup/fatal', e && e.message ? e.message : String(e));
  } finally {
    if (srv) {
      if (srv.exit !== null) fail('server stays up', `server exited during the test ${JSON.stringify(srv.exit)}`);
      await stopServer(srv);
      if (failed && srv.stderr.trim()) {
        for (const l of srv.stderr.trim().split('\n').slice(-20)) write(`# server: ${l}`);
      }
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  write(`${SUITE}: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

await main();
