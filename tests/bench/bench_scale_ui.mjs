// SPDX-License-Identifier: MIT
//
// bench_scale_ui.mjs: the web UI's leaderboard page of one experiment in
// headless Chromium, for bench_scale.py. Loads /experiments/ID?metric=KEY
// LOADS times (each from about:blank) and prints one JSON line:
// {"ready_ms": [...], "rows": N, "api": [...]} where ready_ms is the
// page's own main[data-ready-at] (navigation start to a usable, ranked,
// sortable table), rows the table's aria-rowcount minus its header and
// api the API requests of the last load with their times.
// Usage: node bench_scale_ui.mjs BASE_URL EXPERIMENT_ID METRIC LOADS
import { launchChromium } from '../browser/playwright.mjs';

const [base, exp, metric, loadsArg] = process.argv.slice(2);
const loads = Number(loadsArg || 3);
const WAIT_MS = 120000;

const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const ready = [];
  let rows = 0;
  for (let i = 0; i < loads; i++) {
    await page.goto('about:blank');
    await page.goto(`${base}/experiments/${exp}?metric=${encodeURIComponent(metric)}`,
      { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#leaderboard tbody tr[data-run-id]');
    await page.waitForSelector('main#app[data-ready="1"]');
    ready.push(Number(await page.$eval('main', (m) => m.dataset.readyAt)));
    rows = Number(await page.$eval('#leaderboard', (t) => t.getAttribute('aria-rowcount'))) - 1;
  }
  // the API requests of the last load: "name start-end ms (KiB)"
  const api = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/'))
    .map((e) => `${e.name.split('?')[0].split('/').slice(-2).join('/')} ${Math.round(e.startTime)}-${Math.round(e.responseEnd)} ms (${Math.round(e.encodedBodySize / 1024)} KiB)`));
  process.stdout.write(`${JSON.stringify({ ready_ms: ready, rows, api })}\n`);
} finally {
  await browser.close();
}
