// SPDX-License-Identifier: MIT
//
// server.mjs: what the browser suites share about the real server: where
// the build is, starting greentrack-server (or any helper process that
// prints its address) on a temporary folder and stopping it, the suite's
// watchdog, the REST calls that seed data, and seeding one finished run
// (metrics, energy) the way a client logs it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, fail, finish } from './report.mjs';
import { dbTarget } from '../integration/pgdb.mjs';

export { dbTarget };

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.dirname(path.dirname(HERE));
export const SHOTS = path.join(ROOT, 'build', 'browser-screenshots');
export const J_PER_KWH = 3.6e6;
// Waits bound a hang, never a speed: a busy machine only makes a suite
// slower, never red.
export const WAIT_MS = 60000; // any one wait for the page or the server
export const WATCHDOG_MS = 600000; // a whole suite

// $GREENTRACK_BUILD (default build/release), relative to the current
// folder or else to the repository.
export function buildDir() {
  const b = process.env.GREENTRACK_BUILD || 'build/release';
  if (path.isAbsolute(b)) return b;
  const local = path.resolve(b);
  return fs.existsSync(local) ? local : path.join(ROOT, b);
}

// A child process whose first stdout match of 're' gives its address:
// { proc, label, stderr (its first 20,000 characters), exited (a promise
// of {code, signal}), ready (a promise of the match) }.
export function startProcess(label, cmd, args, { env, cwd, re, stdin = 'pipe' }) {
  const proc = spawn(cmd, args, { cwd, env, stdio: [stdin, 'pipe', 'pipe'] });
  const p = { proc, stderr: '', label };
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { if (p.stderr.length < 20000) p.stderr += d; });
  p.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  p.ready = new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${label}: no address line in ${WAIT_MS} ms: ${buf} ${p.stderr}`)), WAIT_MS);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = re.exec(buf);
      if (m) { clearTimeout(timer); resolve(m); }
    });
    p.exited.then((x) => { clearTimeout(timer); reject(new Error(`${label} exited early ${JSON.stringify(x)}: ${p.stderr}`)); });
  });
  return p;
}

// SIGTERM, then SIGKILL after 'ms'; the exit ({code, signal}), or null
// when it had to be killed (or there was no process).
export async function stopProcess(p, ms = 10000) {
  if (!p) return null;
  try { p.proc.kill('SIGTERM'); } catch { /* gone */ }
  const ex = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r(null), ms))]);
  if (!ex) p.proc.kill('SIGKILL');
  return ex;
}

// The built server on port 0 with its database and artifacts in 'dir'
// (created), the built web UI, 'args' added and 'env' over the
// environment (less its GREENTRACK_ variables). A process as
// startProcess gives it, whose 'base' is a promise of its URL.
export function startServer(dir, { args = [], env: extraEnv = {}, label = 'server' } = {}) {
  const build = buildDir();
  const bin = path.join(build, 'bin', 'greentrack-server');
  const web = path.join(build, 'share', 'greentrack', 'web');
  if (!fs.existsSync(bin)) throw new Error(`server binary not found: ${bin} (build with make)`);
  if (!fs.existsSync(path.join(web, 'vendor', 'uPlot.esm.js'))) throw new Error(`built web UI not found in ${web} (make builds it)`);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GREENTRACK_')) env[k] = v;
  Object.assign(env, extraEnv);
  fs.mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
  const s = startProcess(label, bin, ['--port', '0', '--db', dbTarget(dir), '--artifact-root', path.join(dir, 'artifacts'),
    '--web-root', web, '--log-level', 'warn', '--durability', 'normal', '--heartbeat-timeout', '0', ...args],
  { cwd: dir, env, re: /listening on http:\/\/(\S+):(\d+)/, stdin: 'ignore' });
  s.base = s.ready.then((m) => `http://${['0.0.0.0', '::', '[::]'].includes(m[1]) ? '127.0.0.1' : m[1]}:${m[2]}`);
  return s;
}

// Stops a server and checks that it exited with status 0: "server exits
// cleanly", or "server <label> exits cleanly" when it has a label.
export async function stopServer(s) {
  const ex = await stopProcess(s);
  check(s.label === 'server' ? 'server exits cleanly' : `server ${s.label} exits cleanly`, ex && ex.code === 0,
    JSON.stringify(ex) + ' ' + s.stderr.slice(-500));
}

// Runs a suite: body(s) with a new temporary folder s.tmp (named from
// 'prefix'); s.start(dir, options) starts a server as startServer does,
// stopped and checked at the end; s.atEnd(fn) adds a clean-up run after
// that; s.browser, when the body sets it, is closed first. An exception
// in body is the failed check "setup"; a suite not done in 'watchdogMs'
// fails (its servers killed). Ends with the suite's closing line.
export function runSuite(prefix, body, { watchdogMs = WATCHDOG_MS } = {}) {
  const main = async () => {
    const servers = [];
    const ends = [];
    const s = {
      tmp: fs.mkdtempSync(path.join(os.tmpdir(), prefix)),
      browser: null,
      start: (dir, options) => { const srv = startServer(dir, options); servers.push(srv); return srv; },
      atEnd: (fn) => { ends.push(fn); },
    };
    const timer = setTimeout(() => {
      fail('watchdog', `not finished in ${watchdogMs} ms`);
      for (const p of servers) { try { p.proc.kill('SIGKILL'); } catch { /* gone */ } }
      finish(1);
    }, watchdogMs);
    try {
      await body(s);
    } catch (e) {
      fail('setup', e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : String(e));
    } finally {
      clearTimeout(timer);
      if (s.browser) await s.browser.close().catch(() => {});
      for (const srv of servers) await stopServer(srv);
      for (const fn of ends) await fn();
      fs.rmSync(s.tmp, { recursive: true, force: true });
    }
    finish();
  };
  main().catch((e) => { fail('main', e && e.stack ? e.stack : e); finish(1); });
}

// A REST call to /api/2.0/<p> of the server at 'base', the answer parsed.
export async function api(base, method, p, body) {
  const res = await fetch(base + '/api/2.0/' + p, {
    method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} -> ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

// A finished run as a client logs one, through 'post(path, body)' (a
// POST to /api/2.0/<path>): runs/create (with 'run_id' when given),
// log-batch (metrics, params, tags), log-energy ('samples', when given)
// and runs/update FINISHED at 'end_time'. Returns runs/create's run.
export async function seedRun(post, { experiment_id, run_id, run_name, start_time, end_time, metrics = [], params, tags, samples }) {
  const { run } = await post('mlflow/runs/create', { experiment_id, run_id, run_name, start_time });
  const id = run.info.run_id;
  await post('mlflow/runs/log-batch', { run_id: id, metrics, params, tags });
  if (samples) await post('greentrack/runs/log-energy', { run_id: id, samples });
  await post('mlflow/runs/update', { run_id: id, status: 'FINISHED', end_time });
  return run;
}
