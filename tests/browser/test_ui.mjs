// SPDX-License-Identifier: MIT
// greentrack web UI test: the real server on a temporary DB, runs seeded
// through the REST API, and Debian's Chromium (driven by playwright-core)
// asserting what a user sees.
//
// Usage:  node tests/browser/test_ui.mjs
//
// Needs /usr/bin/chromium (or $CHROMIUM) and
// tests/browser/node_modules/playwright-core: `make test` installs both
// (tools/deps.sh) before any suite runs.
//
// The server is $GREENTRACK_BUILD/bin/greentrack-server (default
// build/release) with --web-root $GREENTRACK_BUILD/share/greentrack/web.
// Screenshots go to build/browser-screenshots/. Timings are printed as
// "# perf ..." lines (judged against their targets only with
// GT_UI_JUDGE_PERF=1, on a quiet machine). The last line is "test_ui: N
// passed, M failed"; exit status 1 when any check failed.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { checkPageClean, failedLoad, launchChromium, openPage } from './playwright.mjs';
import { check, eq, fail, pass, startSuite, step, write } from './report.mjs';
import { J_PER_KWH, ROOT, runSuite, SHOTS, seedRun, WAIT_MS } from './server.mjs';

const SUITE = 'test_ui';
startSuite(SUITE);
// Waits bound a hang, never a speed: a busy machine only makes the suite
// slower (about 55 s on a quiet one), never red.
const WATCHDOG_MS = Number(process.env.GT_UI_WATCHDOG_MS || 600000);
// A sanitizer build (make asan: GREENTRACK_BUILD=build/asan) is several
// times slower: it gets fewer runs and its timings are printed, not judged.
const SANITIZED = /(asan|tsan|ubsan)/.test(path.basename(process.env.GREENTRACK_BUILD || 'build/release'));
const BIG_RUNS = Number(process.env.GT_UI_BIG_RUNS || (SANITIZED ? 2000 : 10000));
// The speed targets below are judged only on request (GT_UI_JUDGE_PERF=1,
// on a quiet machine, release build, 10k runs): a check that fails because
// the machine is busy makes CI a coin toss. By default they are printed.
const JUDGE_PERF = process.env.GT_UI_JUDGE_PERF === '1' && !SANITIZED && BIG_RUNS >= 10000;
// Page loads per timing; the targets are judged on the best of them (the
// development machine is shared, so a slow load is often someone else's
// build), and the median is printed beside it.
const LOADS = 5;
const LONG_POINTS = 100000;
const LEADERBOARD_TARGET_MS = 1000;
const CHART_TARGET_MS = 500;
const T0 = Date.now();

// ------------------------------------------------------------------ the API
let BASE = '';
// node:http with keep-alive: several times faster than fetch() for the
// tens of thousands of small seeding requests.
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
function request(method, p, body) {
  const u = new URL(BASE + p);
  const data = method === 'GET' ? null : JSON.stringify(body ?? {});
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent,
      headers: data === null ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', reject);
    });
    req.setTimeout(20000, () => req.destroy(new Error(`${method} ${p} timed out`)));
    req.on('error', reject);
    req.end(data === null ? undefined : data);
  });
}
async function call(method, p, body) {
  const until = Date.now() + WAIT_MS; // a busy server's 503s are retried this long
  for (let attempt = 0; ; attempt++) {
    const { status, text } = await request(method, p, body);
    if (status === 503 && Date.now() < until) { await new Promise((r) => setTimeout(r, Math.min(1000, 50 * (attempt + 1)))); continue; }
    const json = text ? JSON.parse(text) : {};
    if (status >= 300) { const e = new Error(`${method} ${p} -> ${status} ${text}`); e.status = status; e.body = json; throw e; }
    return json;
  }
}
const post = (p, b) => call('POST', '/api/2.0/' + p, b);
const get = (p, q = {}) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) for (const x of [].concat(v)) u.append(k, x);
  return call('GET', '/api/2.0/' + p + (Object.keys(q).length ? '?' + u : ''));
};

async function pool(n, items, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) { const k = i++; await fn(items[k], k); }
  }));
}

// The small experiment: energy (kWh) and final accuracy chosen so the
// ranking (acc per kg CO2) and the Pareto front are known in advance. CO2 is
// kWh x 475 g/kWh (world average: no location tags) x PUE 1.
const SMALL = [
  { name: 'alpha', kwh: 0.1, acc: 0.80, lr: '0.1', method: 'rapl' },
  { name: 'bravo', kwh: 0.2, acc: 0.85, lr: '0.05', method: 'rapl' },
  { name: 'charlie', kwh: 0.4, acc: 0.90, lr: '0.01', method: 'tdp' },
  { name: 'delta', kwh: 0.3, acc: 0.82, lr: '0.02', method: 'tdp' },
  { name: 'echo', kwh: 0.8, acc: 0.93, lr: '0.005', method: 'tdp' },
  { name: 'foxtrot', kwh: 3.0, acc: 0.88, lr: '0.001', method: 'tdp' },
  { name: 'golf', kwh: 0.5, acc: 0.70, lr: '0.3', method: 'tdp' },
];
const EXPECTED_ORDER = ['alpha', 'bravo', 'delta', 'charlie', 'golf', 'echo', 'foxtrot'];
const EXPECTED_FRONT = ['alpha', 'bravo', 'charlie', 'echo'];
const STEPS = 50;

async function seedSmall(now) {
  const { experiment_id: exp } = await post('mlflow/experiments/create', { name: 'ui-small' });
  const ids = {};
  const start = now - 3600e3;
  await Promise.all(SMALL.map(async (r, k) => {
    const t0 = start + k * 1000;
    const metrics = [];
    for (let s = 0; s < STEPS; s++) {
      const frac = s / (STEPS - 1);
      metrics.push({ key: 'acc', value: s === STEPS - 1 ? r.acc : r.acc * (0.5 + 0.5 * frac), timestamp: t0 + s * 1000, step: s });
      metrics.push({ key: 'loss', value: 2 * (1 - frac) + 0.1, timestamp: t0 + s * 1000, step: s });
    }
    const samples = [];
    const n = 10;
    for (let i = 0; i < n; i++) {
      const j = (r.kwh * J_PER_KWH) / n;
      samples.push({ start_time: t0 + i * 60000, end_time: t0 + (i + 1) * 60000, cpu_energy_j: j * 0.6, gpu_energy_j: j * 0.3,
        ram_energy_j: j * 0.1, cpu_method: r.method, gpu_method: r.method === 'rapl' ? 'nvml-energy' : 'tdp', ram_method: 'model' });
    }
    const run = await seedRun(post, {
      experiment_id: exp, run_name: r.name, start_time: t0, end_time: t0 + n * 60000, metrics, samples,
      params: [{ key: 'lr', value: r.lr }, { key: 'batch_size', value: '64' }, { key: 'optimizer', value: 'adam' }],
      tags: [{ key: 'team', value: 'green' }],
    });
    ids[r.name] = run.info.run_id;
  }));
  // A running run with the metric but no energy yet (unranked, live page).
  const live = (await post('mlflow/runs/create', { experiment_id: exp, run_name: 'hotel-live', start_time: now - 60e3 })).run.info.run_id;
  await post('mlflow/runs/log-batch', {
    run_id: live,
    metrics: Array.from({ length: 10 }, (_, s) => ({ key: 'acc', value: 0.5 + s / 100, timestamp: now - 60e3 + s * 1000, step: s })),
    params: [{ key: 'lr', value: '0.1' }],
  });
  ids['hotel-live'] = live;
  return { exp, ids };
}

async function seedBig(now) {
  const { experiment_id: exp } = await post('mlflow/experiments/create', { name: 'ui-10k' });
  const items = Array.from({ length: BIG_RUNS }, (_, i) => i);
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const spec = items.map((i) => {
    const kwh = 0.01 + rnd() * 2;
    return { i, kwh, acc: 0.5 + 0.45 * (1 - Math.exp(-kwh * 2)) * (0.8 + 0.2 * rnd()), method: rnd() < 0.5 ? 'rapl' : 'tdp' };
  });
  await pool(16, spec, async (s) => {
    const t0 = now - 86400e3 + s.i * 1000;
    await seedRun(post, {
      experiment_id: exp, run_id: randomUUID().replace(/-/g, ''), run_name: `run-${String(s.i).padStart(5, '0')}`,
      start_time: t0, end_time: t0 + 60000,
      metrics: [{ key: 'acc', value: s.acc, timestamp: t0 + 60000, step: 10 }],
      params: [{ key: 'lr', value: String(0.001 * (1 + (s.i % 10))) }],
      samples: [{ start_time: t0, end_time: t0 + 60000, cpu_energy_j: s.kwh * J_PER_KWH * 0.7, gpu_energy_j: s.kwh * J_PER_KWH * 0.3,
        cpu_method: s.method, gpu_method: s.method }],
    });
  });
  return { exp };
}

async function seedLong(now) {
  const { experiment_id: exp } = await post('mlflow/experiments/create', { name: 'ui-long' });
  const t0 = now - 7200e3;
  const id = (await post('mlflow/runs/create', { experiment_id: exp, run_name: 'long-run', start_time: t0 })).run.info.run_id;
  const batches = Array.from({ length: LONG_POINTS / 1000 }, (_, b) => b);
  await pool(4, batches, async (b) => {
    const metrics = [];
    for (let k = 0; k < 1000; k++) {
      const s = b * 1000 + k;
      metrics.push({ key: 'train_loss', value: 3 * Math.exp(-s / 20000) + 0.05 * Math.sin(s / 50), timestamp: t0 + s * 50, step: s });
    }
    await post('mlflow/runs/log-batch', { run_id: id, metrics });
  });
  await post('mlflow/runs/update', { run_id: id, status: 'FINISHED', end_time: t0 + LONG_POINTS * 50 });
  return { exp, id };
}

// ------------------------------------------------------------------ helpers
function sig(x, digits) { // as web/js/fmt.js sig()
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(digits - 1);
  if (a >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  return String(Number(x.toPrecision(digits)));
}

async function ready(page) {
  await page.waitForSelector('main#app[data-ready="1"]', { timeout: WAIT_MS });
}
async function goto(page, p) {
  await page.goto(BASE + p, { waitUntil: 'domcontentloaded' });
  await ready(page);
}
async function rowNames(page) {
  return page.$$eval('#leaderboard tbody tr[data-run-id] td.name a', (as) => as.map((a) => a.textContent));
}
async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name + '.png');
  await page.screenshot({ path: file });
  return file;
}
function luminance(rgb) {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
  if (!m) return NaN;
  return (0.2126 * m[1] + 0.7152 * m[2] + 0.0722 * m[3]) / 255;
}

// --------------------------------------------------------------------- main
runSuite('gt-ui-', async (suite) => {
  const srv = suite.start(suite.tmp, { args: ['--threads', '8'] });
  suite.atEnd(() => agent.destroy());
  BASE = await srv.base;
  const now = Date.now();
  const tSeed = Date.now();
  const [browser, small, big, long] = await Promise.all([
    launchChromium(),
    seedSmall(now), seedBig(now), seedLong(now),
  ]);
  suite.browser = browser;
  if (!JUDGE_PERF) write(`# ${SANITIZED ? 'sanitizer build' : BIG_RUNS < 10000 ? 'fewer runs' : 'GT_UI_JUDGE_PERF unset'}: timings are printed, not judged`);
  write(`# seeded ${SMALL.length + 1} + ${BIG_RUNS} runs + one ${LONG_POINTS}-point metric in ${Date.now() - tSeed} ms`);
  // (the bad-filter check makes the browser log its expected 400; the
  // experiment page's schedule advice may be unavailable, shown as a notice)
  const watched = await openPage(browser, { viewport: { width: 1280, height: 800 }, acceptDownloads: true, colorScheme: 'light' }, {
    timeout: WAIT_MS, origins: [BASE],
    ignored: (text, url) => /Failed to load resource.*status of (400|503)/.test(text) || failedLoad('/greentrack/schedule')(text, url),
  });
  const { page } = watched;

  const lb = await get('greentrack/leaderboard', { experiment_id: small.exp, metric: 'acc' });
  const byName = Object.fromEntries(lb.runs.map((r) => [r.run_name, r]));

  // ---- experiments list
  await step('experiments', async () => {
    await goto(page, '/');
    eq('root redirects to /experiments', new URL(page.url()).pathname, '/experiments');
    const rows = await page.$$eval('table.experiments tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    const s = rows.find((r) => r[0] === 'ui-small');
    check('experiments list shows ui-small with 8 runs, 1 running', s && s[1] === '8' && s[2] === '1', JSON.stringify(rows));
    const b = rows.find((r) => r[0] === 'ui-10k');
    check('experiments list shows the 10k experiment', b && b[1] === String(BIG_RUNS), JSON.stringify(b));
    await page.fill('input.search', 'small');
    await page.waitForFunction(() => document.querySelectorAll('table.experiments tbody tr').length === 1);
    pass('experiments search narrows the list');
    await shot(page, 'experiments');
  });

  // ---- a 503 with Retry-After (a busy server: nothing was done) is sent
  // again by api.js; the page shows the answer, not the refusal
  await step('503 retried', async () => {
    let refused = 0;
    const route = '**/api/2.0/greentrack/experiments/summary**';
    await page.route(route, async (r) => {
      if (refused < 2) {
        refused++;
        await r.fulfill({ status: 503, headers: { 'retry-after': '0', 'content-type': 'application/json' },
          body: JSON.stringify({ error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy; retry' }) });
      } else {
        await r.continue();
      }
    });
    try {
      await goto(page, '/experiments');
      eq('two 503s were answered', refused, 2);
      const names = await page.$$eval('table.experiments tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent));
      check('after them the list is shown', names.includes('ui-small'), JSON.stringify(names));
    } finally {
      await page.unroute(route);
    }
  });

  // ---- leaderboard: order, scores, units, badges
  await step('leaderboard', async () => {
    await page.click('table.experiments tbody tr >> text=ui-small');
    await ready(page);
    eq('row click opens the experiment', new URL(page.url()).pathname, `/experiments/${small.exp}`);
    eq('metric picker defaults to acc', await page.$eval('#metric', (s) => s.value), 'acc');
    const names = await rowNames(page);
    eq('leaderboard order (acc per kg CO2)', names.slice(0, 7), EXPECTED_ORDER);
    eq('unranked runs come last', names.slice(7), ['hotel-live']);
    eq('API order agrees', lb.runs.slice(0, 7).map((r) => r.run_name), EXPECTED_ORDER);
    const cells = await page.$$eval('#leaderboard tbody tr[data-run-id]', (trs) => trs.map((tr) => ({
      rank: tr.querySelector('td.rank').textContent, score: tr.querySelector('td.score').textContent,
      co2: tr.querySelector('td.co2 span:last-child').textContent, est: tr.querySelector('td.co2 .badge.est').checkVisibility(),
      energy: tr.querySelector('td.energy').textContent,
    })));
    eq('ranks 1..7 then none', cells.map((c) => c.rank), ['1', '2', '3', '4', '5', '6', '7', '—']);
    const expScores = EXPECTED_ORDER.map((n) => { const r = SMALL.find((x) => x.name === n); return sig(r.acc / (r.kwh * 0.475), 4); });
    eq('scores shown (acc / kg CO2)', cells.slice(0, 7).map((c) => c.score), expScores);
    eq('scores agree with the API', cells.slice(0, 7).map((c) => c.score), EXPECTED_ORDER.map((n) => sig(byName[n].score, 4)));
    eq('CO2 in readable units', [cells[0].co2, cells[6].co2, cells[7].co2], ['47.5 g', '1.43 kg', '—']);
    eq('energy in readable units', [cells[0].energy, cells[6].energy], ['100 Wh', '3 kWh']);
    eq('estimated badge only on estimated runs', cells.slice(0, 7).map((c) => c.est),
      EXPECTED_ORDER.map((n) => SMALL.find((x) => x.name === n).method !== 'rapl'));
    const summary = await page.textContent('.lb-table .summary');
    check('summary counts runs and the front', summary.includes('8 runs') && summary.includes('7 ranked') && summary.includes('4 on the Pareto front'), summary);
    await shot(page, 'leaderboard');
  });

  // ---- sorting
  await step('sort', async () => {
    await page.click('#leaderboard th.co2 button');
    let names = await rowNames(page);
    eq('sort by CO2 ascending', names.slice(0, 3), ['alpha', 'bravo', 'delta']);
    check('sort is in the URL', page.url().includes('sort=co2_g'), page.url());
    await page.click('#leaderboard th.co2 button');
    names = await rowNames(page);
    eq('sort by CO2 descending (missing last)', [names[0], names[names.length - 1]], ['foxtrot', 'hotel-live']);
    await page.click('#leaderboard th.name button');
    names = await rowNames(page);
    eq('sort by name', names.slice(0, 3), ['alpha', 'bravo', 'charlie']);
    await page.reload({ waitUntil: 'domcontentloaded' });
    await ready(page);
    names = await rowNames(page);
    eq('sort survives reload (bookmarkable)', names.slice(0, 3), ['alpha', 'bravo', 'charlie']);
    await page.click('#leaderboard th.rank button');
  });

  // ---- filter
  await step('filter', async () => {
    await goto(page, `/experiments/${small.exp}`);
    await page.fill('#filter', 'metrics.acc > 0.86');
    await page.press('#filter', 'Enter');
    await page.waitForFunction(() => document.querySelector('#row-count')?.textContent === '3 runs');
    eq('filter narrows rows', (await rowNames(page)).sort(), ['charlie', 'echo', 'foxtrot']);
    check('filter is in the URL', new URL(page.url()).searchParams.get('filter') === 'metrics.acc > 0.86', page.url());
    const bad = 'metrics.acc >>> 1';
    let apiMsg = '';
    try { await get('greentrack/leaderboard', { experiment_id: small.exp, metric: 'acc', filter: bad }); } catch (e) { apiMsg = e.body && e.body.message; }
    check('the server refuses the bad filter', !!apiMsg, 'no 400');
    await page.fill('#filter', bad);
    await page.press('#filter', 'Enter');
    await page.waitForSelector('#filter-error:not([hidden])', { timeout: WAIT_MS });
    const shown = await page.textContent('#filter-error');
    eq('bad filter shows the server message inline', shown, apiMsg);
    eq('filter box marked invalid', await page.getAttribute('#filter', 'aria-invalid'), 'true');
    await shot(page, 'filter-error');
    await page.fill('#filter', 'params.lr = "0.1"');
    await page.press('#filter', 'Enter');
    await page.waitForFunction(() => document.querySelector('#filter-error').hidden && document.querySelector('#row-count')?.textContent === '2 runs');
    pass('fixing the filter clears the error');
  });

  // ---- Pareto chart
  await step('pareto', async () => {
    await goto(page, `/experiments/${small.exp}`);
    await page.waitForSelector('#pareto canvas');
    const ds = await page.$eval('#pareto', (el) => ({ points: el.dataset.points, front: el.dataset.front }));
    eq('Pareto chart points and front', ds, { points: '7', front: '4' });
    eq('API front agrees', lb.runs.filter((r) => r.pareto).map((r) => r.run_name).sort(), [...EXPECTED_FRONT].sort());
    const series = await page.evaluate(() => {
      const u = window.__gtPareto;
      const cnt = (a) => a.filter((v) => v !== null && v !== undefined).length;
      return { dots: cnt(u.data[1]), front: cnt(u.data[2]), xlog: u.scales.x.distr };
    });
    eq('chart draws 3 dots + 4 front points on a log x scale', series, { dots: 3, front: 4, xlog: 3 });
    const pt = await page.evaluate((id) => window.__gtPareto.pointOf(id), small.ids.charlie);
    await page.mouse.move(pt.x, pt.y);
    await page.waitForSelector('#tooltip:not([hidden])', { timeout: WAIT_MS });
    const tip = await page.textContent('#tooltip');
    check('hover shows run details', tip.includes('charlie') && tip.includes('acc: 0.9') && tip.includes('190 g') && tip.includes('Pareto'), tip);
    await shot(page, 'pareto-hover');
    await page.mouse.click(pt.x, pt.y);
    await page.waitForURL(`**/runs/${small.ids.charlie}`, { timeout: WAIT_MS });
    pass('clicking a point opens its run');
  });

  // ---- run page
  await step('run page', async () => {
    await ready(page);
    await page.waitForSelector('.metric-chart[data-key="acc"] canvas');
    const charts = await page.$$eval('.metric-chart', (els) => els.map((e) => [e.dataset.key, e.dataset.points]));
    eq('run page charts acc and loss (50 points each)', charts, [['acc', '50'], ['loss', '50']]);
    const h1 = await page.textContent('main h1');
    check('run page title and status', h1.includes('charlie') && h1.includes('FINISHED'), h1);
    const params = await page.$$eval('#params tr', (trs) => trs.map((tr) => tr.textContent));
    eq('params listed', params, ['batch_size64', 'lr0.01', 'optimizeradam']);
    await page.waitForSelector('#carbon dl');
    const carbon = await page.textContent('#carbon');
    check('carbon summary with sources', carbon.includes('190 g') && carbon.includes('475') && carbon.includes('world') &&
      carbon.includes('CPU tdp') && carbon.includes('Samples10'), carbon);
    await page.waitForSelector('#energy-chart canvas', { timeout: WAIT_MS });
    eq('energy over time chart has the samples', await page.$eval('#energy-chart', (e) => e.dataset.samples), '10');
    const legend = await page.$$eval('#energy-chart .u-legend .u-series th', (ths) => ths.map((t) => t.textContent.trim()).filter(Boolean));
    check('energy per component: CPU, GPU, RAM', ['CPU', 'GPU', 'RAM'].every((c) => legend.includes(c)), JSON.stringify(legend));
    await shot(page, 'run');
    await goto(page, `/runs/${small.ids.charlie}?x=time&smooth=0.6&keys=loss`);
    await page.waitForSelector('.metric-chart canvas');
    const st = await page.evaluate(() => ({
      keys: [...document.querySelectorAll('.metric-chart')].map((e) => e.dataset.key),
      legend: [...document.querySelectorAll('.metric-chart .u-legend .u-series th')].map((t) => t.textContent.trim()),
      x: document.querySelector('#xmode').value, smooth: document.querySelector('#smooth').value,
    }));
    check('x axis, smoothing and keys come from the URL', st.x === 'time' && st.smooth === '0.6' &&
      JSON.stringify(st.keys) === '["loss"]' && st.legend.includes('loss (raw)') && st.legend.includes('wall time'), JSON.stringify(st));
  });

  // ---- compare
  await step('compare', async () => {
    await goto(page, `/experiments/${small.exp}`);
    await page.click(`#leaderboard tr[data-run-id="${small.ids.alpha}"] input[type=checkbox]`);
    await page.focus(`#leaderboard tr[data-run-id="${small.ids.bravo}"]`);
    await page.keyboard.press(' ');
    eq('compare button counts the selection', await page.textContent('#compare-btn'), 'Compare (2)');
    await page.click('#compare-btn');
    await page.waitForURL('**/compare?**');
    await ready(page);
    const runsQ = new URL(page.url()).searchParams.get('runs').split(',');
    eq('compare URL holds both runs', runsQ.sort(), [small.ids.alpha, small.ids.bravo].sort());
    await page.waitForSelector('#compare-chart canvas');
    eq('compare overlays two curves', await page.$eval('#compare-chart', (e) => e.dataset.series), '2');
    const diff = await page.$$eval('#compare-params tbody tr', (trs) => trs.map((tr) => [tr.dataset.key, tr.classList.contains('diff')]));
    eq('params side by side, differences highlighted', diff, [['batch_size', false], ['lr', true], ['optimizer', false]]);
    const lrRow = await page.$$eval('#compare-params tr[data-key="lr"] td', (tds) => tds.map((t) => t.textContent));
    eq('param values per run', lrRow.sort(), ['0.05', '0.1']);
    await shot(page, 'compare');
  });

  // ---- keyboard
  await step('keyboard', async () => {
    await goto(page, `/experiments/${small.exp}`);
    await page.focus('#filter');
    let onRow = null;
    for (let i = 0; i < 20 && !onRow; i++) {
      await page.keyboard.press('Tab');
      onRow = await page.evaluate(() => {
        const a = document.activeElement;
        return a && a.matches('#leaderboard tbody tr[data-run-id]') ? a.dataset.runId : null;
      });
    }
    eq('Tab reaches the first leaderboard row', onRow, small.ids.alpha);
    await page.keyboard.press('ArrowDown');
    eq('ArrowDown moves to the next row', await page.evaluate(() => document.activeElement.dataset.runId), small.ids.bravo);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/runs/${small.ids.bravo}`, { timeout: WAIT_MS });
    pass('Enter opens the focused run');
  });

  // ---- dark mode
  await step('dark mode', async () => {
    await goto(page, `/experiments/${small.exp}`);
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    await ready(page);
    await page.waitForSelector('#pareto canvas');
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const fg = await page.evaluate(() => getComputedStyle(document.body).color);
    check('light theme by default', luminance(light) > 0.8, light);
    check('dark theme follows the system', luminance(dark) < 0.15 && luminance(fg) > 0.7, `${dark} / ${fg}`);
    await shot(page, 'leaderboard-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  // ---- live refresh
  await step('live', async () => {
    const id = small.ids['hotel-live'];
    await goto(page, `/runs/${id}`);
    await page.waitForSelector('.metric-chart[data-key="acc"] canvas');
    eq('running run shows its points', await page.$eval('.metric-chart[data-key="acc"]', (e) => e.dataset.points), '10');
    check('live indicator shown', await page.isVisible('#live'), 'hidden');
    await post('mlflow/runs/log-metric', { run_id: id, key: 'acc', value: 0.77, timestamp: Date.now(), step: 10 });
    await post('mlflow/runs/log-metric', { run_id: id, key: 'new_metric', value: 1.5, timestamp: Date.now(), step: 0 });
    await page.waitForFunction(() => document.querySelector('.metric-chart[data-key="acc"]')?.dataset.points === '11', null, { timeout: WAIT_MS });
    pass('a new metric point appears without reload');
    await page.waitForSelector('.metric-chart[data-key="new_metric"] canvas', { timeout: WAIT_MS });
    pass('a new metric key appears without reload');
    const last = await page.evaluate(() => {
      const el = document.querySelector('.metric-chart[data-key="acc"] .uplot');
      return el ? el.textContent.includes('acc') : false;
    });
    check('live chart still rendered', last);
  });

  // ---- CSV
  await step('csv', async () => {
    await goto(page, `/experiments/${small.exp}?filter=${encodeURIComponent('metrics.acc >= 0.85')}`);
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), page.click('#csv-btn')]);
    const text = fs.readFileSync(await dl.path(), 'utf8');
    const lines = text.trim().split(/\r?\n/);
    eq('CSV header', lines[0], 'rank,run_id,run_name,status,start_time,duration_s,acc,co2_g,energy_kwh,score,pareto,estimated');
    eq('CSV has the matching runs in rank order', lines.slice(1).map((l) => l.split(',')[2]), ['bravo', 'charlie', 'echo', 'foxtrot']);
    const b = lines[1].split(',');
    const r = byName.bravo;
    eq('CSV row values', [b[0], b[1], b[3], b[6], b[7], b[8], b[10], b[11]],
      ['1', r.run_id, 'FINISHED', String(r.metric_value), String(r.co2_g), String(r.energy_kwh), 'true', 'false']);
    check('CSV file name', dl.suggestedFilename().endsWith('-leaderboard.csv'), dl.suggestedFilename());
  });

  // ---- 10,000 runs
  await step(`${BIG_RUNS}-run leaderboard`, async () => {
    const times = [];
    for (let i = 0; i < LOADS; i++) {
      await page.goto('about:blank');
      const t = Date.now();
      await page.goto(`${BASE}/experiments/${big.exp}?metric=acc`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#leaderboard tbody tr[data-run-id]', { timeout: WAIT_MS });
      await ready(page);
      const readyAt = Number(await page.$eval('main', (m) => m.dataset.readyAt));
      times.push({ wall: Date.now() - t, readyAt });
    }
    const lbApi = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/'))
      .map((e) => `${e.name.split('?')[0].split('/').pop()} ${Math.round(e.startTime)}-${Math.round(e.responseEnd)} (${Math.round(e.encodedBodySize / 1024)} KiB)`));
    write(`# perf last leaderboard load, ms since navigation: ${lbApi.join(', ')}`);
    const best = Math.min(...times.map((x) => x.readyAt));
    const median = times.map((x) => x.readyAt).sort((a, b) => a - b)[LOADS >> 1];
    write(`# perf leaderboard ${BIG_RUNS} runs: navigation to usable ${times.map((x) => x.readyAt).join(', ')} ms (best ${best}, median ${median}); wall incl. driver ${times.map((x) => x.wall).join(', ')} ms`);
    if (JUDGE_PERF) check(`10k leaderboard usable <= ${LEADERBOARD_TARGET_MS} ms after navigation (best of ${LOADS}: ${best} ms)`, best <= LEADERBOARD_TARGET_MS, `${best} ms`);
    const n = await page.$eval('#leaderboard', (t) => t.getAttribute('aria-rowcount'));
    eq(`all ${BIG_RUNS} rows are in the table`, n, String(BIG_RUNS + 1));
    const rendered = await page.$$eval('#leaderboard tbody tr[data-run-id]', (trs) => trs.length);
    check('virtual scrolling keeps the DOM small', rendered > 10 && rendered < 120, String(rendered));
    const pts = await page.$eval('#pareto', (e) => Number(e.dataset.points));
    eq('Pareto chart shows every run', pts, BIG_RUNS);
    // scroll to the middle and the end: rows appear there within a frame
    const scroll = await page.evaluate(async () => {
      const sc = document.querySelector('.vscroll');
      const t0 = performance.now();
      const frames = [];
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      for (let i = 0; i < 20; i++) {
        const f0 = performance.now();
        sc.scrollTop += 3000;
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        frames.push(performance.now() - f0);
      }
      sc.scrollTop = sc.scrollHeight;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const trs = [...document.querySelectorAll('#leaderboard tbody tr[data-run-id]')];
      frames.sort((a, b) => a - b);
      return { median: frames[10], max: frames[19], last: trs[trs.length - 1].dataset.i };
    });
    write(`# perf leaderboard scroll: 20 jumps of 3000 px, each to 2 frames later: median ${scroll.median.toFixed(0)} ms, slowest ${scroll.max.toFixed(0)} ms`);
    eq('scrolling to the end shows the last row', scroll.last, String(BIG_RUNS - 1));
    if (JUDGE_PERF) check('scrolling stays smooth (median <= 120 ms per 3000 px jump, 2 frames included)', scroll.median <= 120, `${scroll.median} ms`);
    await page.evaluate(() => { document.querySelector('.vscroll').scrollTop = 0; });
    await shot(page, 'leaderboard-10k');
    // CSV of all 10k (two pages of 5000)
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), page.click('#csv-btn')]);
    const lines = fs.readFileSync(await dl.path(), 'utf8').trim().split(/\r?\n/);
    eq('CSV exports every run, not just the visible page', lines.length - 1, BIG_RUNS);
    eq('CSV run ids are distinct', new Set(lines.slice(1).map((l) => l.split(',')[1])).size, BIG_RUNS);
  });

  // ---- 100,000-point chart
  await step('100k chart', async () => {
    const times = [];
    for (let i = 0; i < LOADS; i++) {
      await page.goto('about:blank');
      await page.goto(`${BASE}/runs/${long.id}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('.metric-chart[data-key="train_loss"] canvas', { timeout: WAIT_MS });
      await ready(page);
      times.push(Number(await page.$eval('main', (m) => m.dataset.readyAt)));
    }
    const median = times.slice().sort((a, b) => a - b)[LOADS >> 1];
    const best = Math.min(...times);
    const api = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/') || e.name.includes('/js/') || e.name.includes('/vendor/'))
      .map((e) => `${e.name.split('?')[0].split('/').pop()} ${Math.round(e.startTime)}-${Math.round(e.responseEnd)}`));
    write(`# perf last chart load, ms since navigation: ${api.join(', ')}`);
    const shownPts = Number(await page.$eval('.metric-chart[data-key="train_loss"]', (e) => e.dataset.points));
    write(`# perf ${LONG_POINTS}-point metric: navigation to drawn chart ${times.join(', ')} ms (best ${best}, median ${median}), ${shownPts} points after server downsampling`);
    if (JUDGE_PERF) check(`100k-point chart drawn <= ${CHART_TARGET_MS} ms after navigation (best of ${LOADS}: ${best} ms)`, best <= CHART_TARGET_MS, `${best} ms`);
    check('the server downsampled the series (first and last step kept)', shownPts > 500 && shownPts <= 2000, String(shownPts));
    const ends = await page.evaluate(() => { const u = document.querySelector('.metric-chart .uplot'); return u ? u.textContent : ''; });
    check('chart legend present', ends.includes('train_loss'), ends.slice(0, 200));
    await shot(page, 'run-100k');
  });

  checkPageClean(watched);
  write(`# total ${((Date.now() - T0) / 1000).toFixed(1)} s; screenshots in ${path.relative(ROOT, SHOTS)}/`);
}, { watchdogMs: WATCHDOG_MS });
