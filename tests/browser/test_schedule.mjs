// SPDX-License-Identifier: MIT
// The experiment page's "Next low-carbon window" (web/js/schedule.js) in
// Debian's Chromium, against the real server whose grid provider is the
// loopback fake of tests/integration/fake_grid.py: the advice with its
// forecast chart for an experiment whose runs have a zone, the
// explanation for one without, and a muted notice (the page still works)
// when the provider is down.
//
// Usage:  node tests/browser/test_schedule.mjs
// Same prerequisites as test_ui.mjs (Chromium, playwright-core). The last
// line is "test_schedule: N passed, M failed".

import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPageClean, failedLoad, launchChromium, openPage } from './playwright.mjs';
import { check, startSuite, step } from './report.mjs';
import { api, J_PER_KWH, ROOT, runSuite, SHOTS, seedRun, startProcess, stopProcess, WAIT_MS } from './server.mjs';

const SUITE = 'test_schedule';
startSuite(SUITE);

// The fake provider: tests/integration/fake_grid.py, driven by a small
// Python wrapper that prints the server's environment for it and reads
// forecasts, {"forecast": [[from_s, to_s, g_per_kwh], ...]} relative to
// now, one JSON line each, on stdin.
const FAKE_DRIVER = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'tests', 'integration'))})
from fake_grid import FakeGrid, now_ms
fake = FakeGrid().start()
env = fake.server_env(em=False, wt=False)
env.update({"GREENTRACK_GRID_TTL_S": "0", "GREENTRACK_GRID_REFRESH_S": "0"})
print("fake-grid " + json.dumps(env), flush=True)
for line in sys.stdin:
    base = now_ms()
    fake.uk_forecast = [{"start_ms": base + int(a * 1000), "end_ms": base + int(b * 1000),
                         "forecast": g, "actual": None} for a, b, g in json.loads(line)["forecast"]]
    print("ok", flush=True)
fake.stop()
`;

// An experiment of 'n' finished runs of 30 minutes and 0.5 kWh each,
// tagged with 'zone' unless it is null.
async function seed(base, name, zone, n = 3) {
  const { experiment_id: exp } = await api(base, 'POST', 'mlflow/experiments/create', { name });
  const end = Date.now() - 3600e3;
  const start = end - 30 * 60e3;
  for (let i = 0; i < n; i++) {
    await seedRun((p, b) => api(base, 'POST', p, b), {
      experiment_id: exp, run_name: `${name}-${i}`, start_time: start, end_time: end,
      metrics: [{ key: 'acc', value: 0.8 + i / 100, timestamp: end, step: 1 }],
      tags: zone ? [{ key: 'greentrack.zone', value: zone }] : [],
      samples: [{ start_time: start, end_time: end, cpu_energy_j: 0.5 * J_PER_KWH, cpu_method: 'rapl' }],
    });
  }
  return exp;
}

runSuite('gt-sched-', async (suite) => {
  const { tmp } = suite;
  const fake = startProcess('fake-grid', 'python3', ['-c', FAKE_DRIVER], { cwd: tmp, env: process.env, re: /^fake-grid (.*)$/m });
  suite.atEnd(async () => {
    try { fake.proc.stdin.end(); } catch { /* gone */ }
    await stopProcess(fake);
  });
  const fakeEnv = JSON.parse((await fake.ready)[1]);
  // 300 g/kWh for 20 minutes, 100 for 2 hours, then 300 again.
  fake.proc.stdin.write(JSON.stringify({ forecast: [[-600, 1200, 300], [1200, 8400, 100], [8400, 172800, 300]] }) + '\n');
  const srv = suite.start(path.join(tmp, 'up'), { env: fakeEnv, label: 'up' });
  // A second server whose provider address has nobody listening.
  const deadEnv = {};
  for (const k of Object.keys(fakeEnv)) deadEnv[k] = fakeEnv[k];
  for (const k of Object.keys(deadEnv)) if (/_URL$/.test(k)) deadEnv[k] = 'http://127.0.0.1:9';
  const down = suite.start(path.join(tmp, 'down'), { env: deadEnv, label: 'down' });
  const [base, downBase] = await Promise.all([srv.base, down.base]);
  const [gb, nozone, gbDown] = await Promise.all([seed(base, 'sched-gb', 'GB'), seed(base, 'sched-nozone', null, 1),
    seed(downBase, 'sched-down', 'GB', 1)]);
  suite.browser = await launchChromium();
  // (the expected 400/503 of the schedule endpoint are logged as failed loads)
  const watched = await openPage(suite.browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'light', timezoneId: 'UTC' },
    { timeout: WAIT_MS, origins: [base, downBase], ignored: failedLoad('/greentrack/schedule') });
  const { page } = watched;
  // Opens an experiment page; returns the schedule answer the page got
  // (the saving depends on "now": compare the page with its own answer,
  // not with one fetched seconds earlier)
  const open = async (b, exp) => {
    const answer = page.waitForResponse((r) => r.url().includes('/greentrack/schedule'));
    await page.goto(`${b}/experiments/${exp}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('main#app[data-ready="1"]', { timeout: WAIT_MS });
    await page.waitForSelector('#schedule:not([data-state="loading"])', { timeout: WAIT_MS });
    const r = await answer;
    return r.ok() ? r.json() : null;
  };

  await step('advice', async () => {
    const direct = await api(base, 'GET', `greentrack/schedule?experiment_id=${gb}`);
    const shown = await open(base, gb);
    const st = await page.$eval('#schedule', (e) => e.dataset.state);
    check('panel shows advice', st === 'ok', `${st}: ${await page.$eval('#schedule', (e) => e.textContent)}`);
    const start = await page.$eval('.sched-start', (e) => e.textContent);
    check('best start in local time and relative', /^today \d\d:\d\d \(in (1[5-9]|2[0-5])m/.test(start) ||
      /^tomorrow \d\d:\d\d \(in (1[5-9]|2[0-5])m/.test(start), start);
    const dur = await page.$eval('.sched-duration', (e) => e.textContent);
    check('run length is the experiment\'s typical run', dur === '30m', dur);
    const saving = await page.$eval('.sched-saving', (e) => e.textContent);
    check('saving percent as the server says', !!shown && saving === `${Number(shown.saving_percent.toPrecision(2))}% less CO₂`,
      `${saving} vs ${shown && shown.saving_percent}`);
    const co2 = await page.$eval('.sched-co2', (e) => e.textContent).catch(() => '');
    check('expected CO2 of a typical run now vs best', /now → /.test(co2) && /g/.test(co2), co2);
    const src = await page.$eval('.sched-source', (e) => e.textContent);
    check('zone and source shown', src.includes('Zone GB') && src.includes(direct.source), src);
    const pts = Number(await page.$eval('.sched-chart', (e) => e.dataset.points));
    // (the fake's 48 h of forecast, drawn up to the 24 h horizon + 30 min)
    check('forecast chart drawn', pts > 0 && pts <= direct.forecast.length &&
      (await page.$$('.sched-chart canvas')).length === 1, String(pts));
    check('leaderboard still there', (await page.$$('#leaderboard tbody tr[data-run-id]')).length === 3);
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.$eval('#schedule', (e) => e.scrollIntoView());
    await page.locator('#schedule').screenshot({ path: path.join(SHOTS, 'schedule.png') });
  });

  await step('no zone', async () => {
    await open(base, nozone);
    const st = await page.$eval('#schedule', (e) => e.dataset.state);
    const text = await page.$eval('#schedule', (e) => e.textContent);
    check('no zone: the panel explains how to get advice', st === 'nozone' && text.includes('greentrack.zone') &&
      text.includes('GREENTRACK_ZONE=GB'), `${st}: ${text}`);
  });

  await step('provider down', async () => {
    await open(downBase, gbDown);
    const st = await page.$eval('#schedule', (e) => e.dataset.state);
    const text = await page.$eval('#schedule', (e) => e.textContent);
    check('provider down: a muted notice', st === 'unavailable' && text.includes('unavailable'), `${st}: ${text}`);
    const color = await page.$eval('.sched-notice', (e) => getComputedStyle(e).color);
    const muted = await page.evaluate(() => getComputedStyle(document.querySelector('.muted')).color);
    check('the notice is muted, not an error', color === muted, `${color} vs ${muted}`);
    check('the page still works', (await page.$$('#leaderboard tbody tr[data-run-id]')).length === 1);
  });

  checkPageClean(watched);
});
