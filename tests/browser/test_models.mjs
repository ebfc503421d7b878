// SPDX-License-Identifier: MIT
// The Models pages (web/js/views/models.js, model.js) and the run page's
// links to model versions, in Debian's Chromium against the real server
// and its model registry: runs seeded with metrics and energy, models and
// versions registered through the REST API as MLflow's client does, with
// aliases and stages; then the list (latest versions, aliases, the name
// search, paging), a model's versions table (CO2 and metric per kg CO2 as
// greentrack's model-versions/carbon gives them, the judged metric from
// the greentrack.metric tag), its chart, editing its description and tags
// (checked by reading the model back through the API), and the run page's
// links to the versions registered from it.
//
// Usage:  GREENTRACK_BUILD=build/release node tests/browser/test_models.mjs
// Same prerequisites as test_ui.mjs (Chromium, playwright-core). Shots go
// to build/browser-screenshots/models-*.png. The last line is
// "test_models: N passed, M failed".

import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPageClean, failedLoad, launchChromium, openPage } from './playwright.mjs';
import { check, eq, startSuite, step } from './report.mjs';
import { api as apiAt, J_PER_KWH, runSuite, SHOTS, seedRun, WAIT_MS } from './server.mjs';

const SUITE = 'test_models';
startSuite(SUITE);
const PAGE_SIZE = 25; // web/js/views/models.js
const FILLERS = 30;   // models beyond the first page

let BASE = '';
const api = (method, p, body) => apiAt(BASE, method, p, body);
const q = (o) => new URLSearchParams(o).toString();
const getModel = async (name) => (await api('GET', `mlflow/registered-models/get?${q({ name })}`)).registered_model;
const carbonOf = (name, version) => api('GET', `greentrack/model-versions/carbon?${q({ name, version })}`);
const modelPath = (name, version) => `/models/${encodeURIComponent(name)}/${version ? `?version=${version}` : ''}`;

// Runs with metrics and energy (kWh, so CO2 = kWh x the world average).
const CHURN_RUNS = [
  { name: 'gbm-small', acc: 0.80, loss: 0.52, kwh: 0.010 },
  { name: 'gbm-medium', acc: 0.86, loss: 0.41, kwh: 0.020 },
  { name: 'gbm-large', acc: 0.91, loss: 0.30, kwh: 0.050 },
  { name: 'gbm-distilled', acc: 0.90, loss: 0.33, kwh: 0.015 },
];
const NLP_RUNS = [
  { name: 'bert-base', f1: 0.88, val_loss: 0.35, kwh: 0.30 },
  { name: 'bert-large', f1: 0.91, val_loss: 0.28, kwh: 0.90 },
  { name: 'distilbert', f1: 0.87, val_loss: 0.37, kwh: 0.12 },
];
// a slash, a dot (read as a file extension by the server unless the path
// ends in '/'), a quote, a space and an @
const ODD_NAME = "team/vision.v2 it's@x";

async function seed() {
  const now = Date.now();
  const mkExp = async (name) => (await api('POST', 'mlflow/experiments/create', { name })).experiment_id;
  const mkRun = async (exp, r, i) => {
    const metrics = Object.entries(r).filter(([k]) => !['name', 'kwh'].includes(k))
      .map(([key, value]) => ({ key, value, timestamp: now - 120e3, step: 10 }));
    const run = await seedRun((p, b) => api('POST', p, b), {
      experiment_id: exp, run_name: r.name, start_time: now - 3600e3 + i * 1000, end_time: now - 120e3, metrics,
      samples: [{ start_time: now - 3600e3, end_time: now - 120e3, cpu_energy_j: r.kwh * J_PER_KWH, cpu_method: 'rapl', ram_method: 'ram-model' }],
    });
    return { ...r, run_id: run.info.run_id, artifact_uri: run.info.artifact_uri };
  };
  const churnExp = await mkExp('churn');
  const nlpExp = await mkExp('nlp');
  const churn = [];
  for (const [i, r] of CHURN_RUNS.entries()) churn.push(await mkRun(churnExp, r, i));
  const nlp = [];
  for (const [i, r] of NLP_RUNS.entries()) nlp.push(await mkRun(nlpExp, r, i));
  const lonely = await mkRun(churnExp, { name: 'never-registered', acc: 0.5, kwh: 0.001 }, 9);

  // register_model's wire sequence: create the model, then a version per run
  const register = async (name, run) => {
    await api('POST', 'mlflow/registered-models/create', { name }).catch((e) => {
      if (!/RESOURCE_ALREADY_EXISTS/.test(e.message)) throw e;
    });
    const { model_version: v } = await api('POST', 'mlflow/model-versions/create',
      { name, source: `${run.artifact_uri}/model`, run_id: run.run_id });
    return v.version;
  };
  await api('POST', 'mlflow/registered-models/create', {
    name: 'churn-classifier', description: 'Predicts which customers leave.', tags: [{ key: 'team', value: 'growth' }],
  });
  for (const r of churn) await register('churn-classifier', r);
  for (const r of nlp) await register('sentiment-bert', r);
  await api('POST', 'mlflow/registered-models/set-tag', { name: 'sentiment-bert', key: 'greentrack.metric', value: 'val_loss' });
  const alias = (name, a, version) => api('POST', 'mlflow/registered-models/alias', { name, alias: a, version });
  const stage = (name, version, s, archive = false) => api('POST', 'mlflow/model-versions/transition-stage',
    { name, version, stage: s, archive_existing_versions: archive });
  await alias('churn-classifier', 'champion', '3');
  await alias('churn-classifier', 'challenger', '4');
  await stage('churn-classifier', '1', 'Production');
  await stage('churn-classifier', '3', 'Production', true); // v1 -> Archived
  await stage('churn-classifier', '2', 'Staging');
  await alias('sentiment-bert', 'prod', '2');
  await stage('sentiment-bert', '2', 'Production');
  // fillers, so the list has a second page; filler-00 also holds gbm-large
  for (let i = 0; i < FILLERS; i++) {
    await api('POST', 'mlflow/registered-models/create', { name: `filler-${String(i).padStart(2, '0')}` });
  }
  await register('filler-00', churn[2]);
  await register(ODD_NAME, nlp[2]);
  return { churnExp, nlpExp, churn, nlp, lonely };
}

async function allModels() {
  const out = [];
  let token;
  do {
    const r = await api('GET', `mlflow/registered-models/search?${q({ max_results: 1000, ...(token ? { page_token: token } : {}) })}`);
    out.push(...(r.registered_models || []));
    token = r.next_page_token;
  } while (token);
  return out;
}

// Pareto front of versions: [{version, x: co2, y: metric}], as charts.js.
function front(pts, maximize) {
  const better = (a, b) => (maximize ? a > b : a < b);
  return pts.filter((p) => !pts.some((o) => o !== p && o.x <= p.x && !better(p.y, o.y) && (o.x < p.x || better(o.y, p.y))))
    .map((p) => p.version);
}

runSuite('gt-models-', async (suite) => {
  const srv = suite.start(suite.tmp);
  BASE = await srv.base;
  const [s, br] = await Promise.all([seed(), launchChromium()]);
  suite.browser = br;
  // (the answers the steps ask for: the refused tag key, the unknown model)
  const watched = await openPage(br, { viewport: { width: 1400, height: 900 }, colorScheme: 'light' }, {
    timeout: WAIT_MS, origins: [BASE], ignored: failedLoad('/registered-models/set-tag', '/registered-models/get?name=no-such-model'),
  });
  const { page, errors: pageErrors, requests } = watched;

  const open = async (p) => {
    await page.goto(BASE + p, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('main#app[data-ready="1"]', { timeout: WAIT_MS });
  };
  const listNames = () => page.$$eval('#models tbody tr[data-name]', (trs) => trs.map((tr) => tr.dataset.name));
  const waitList = async (pred, arg) => {
    await page.waitForFunction(pred, arg, { timeout: WAIT_MS });
    await page.waitForFunction(() => !document.querySelector('#models').hasAttribute('aria-busy'), null, { timeout: WAIT_MS });
  };
  const models = await allModels();
  const names = models.map((m) => m.name);

  await step('nav', async () => {
    await open('/experiments');
    eq('header links to the sections', await page.$$eval('#sections a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')])),
      [['Experiments', '/experiments'], ['Models', '/models']]);
    eq('experiments is the current section', await page.$eval('#sections a[aria-current]', (a) => a.textContent), 'Experiments');
    await page.click('#sections a[data-section=models]');
    await page.waitForSelector('main#app[data-ready="1"] #models');
    eq('the Models link opens /models', new URL(page.url()).pathname, '/models');
    eq('models is the current section', await page.$eval('#sections a[aria-current]', (a) => a.textContent), 'Models');
  });

  await step('list', async () => {
    await open('/models');
    eq('API: names in order (name ASC)', names.slice(0, 3), ['churn-classifier', 'filler-00', 'filler-01']);
    eq('first page: the first 25 models in the registry\'s order', await listNames(), names.slice(0, PAGE_SIZE));
    eq('count says which', await page.$eval('#models-count', (e) => e.textContent), `1–${PAGE_SIZE}`);
    const churn = models.find((m) => m.name === 'churn-classifier');
    const row = await page.$eval('#models tr[data-name="churn-classifier"]', (tr) => ({
      href: tr.querySelector('td.name a').getAttribute('href'),
      latest: [...tr.querySelectorAll('td.latest .ver')].map((v) => v.textContent),
      aliases: [...tr.querySelectorAll('td.aliases .badge.alias')].map((b) => b.textContent),
      desc: tr.querySelector('td.desc').textContent,
    }));
    eq('latest version per stage, newest first, with stage badges', row.latest,
      churn.latest_versions.slice().sort((a, b) => b.version - a.version)
        .map((v) => `v${v.version}${v.current_stage === 'None' ? '' : v.current_stage}`));
    eq('which is v4 (None), v3 Production, v2 Staging, v1 Archived', row.latest, ['v4', 'v3Production', 'v2Staging', 'v1Archived']);
    eq('aliases with their versions', row.aliases, ['@challenger → v4', '@champion → v3']);
    eq('description', row.desc, 'Predicts which customers leave.');
    eq('row links to the model', row.href, '/models/churn-classifier/');
    eq('a model without versions says so', await page.$eval('#models tr[data-name="filler-05"] td.latest', (e) => e.textContent), 'no versions');
  });

  await step('paging', async () => {
    check('Previous disabled on the first page', await page.$eval('#models-prev', (b) => b.disabled));
    await page.click('#models-next');
    await waitList((n) => document.querySelector('#models-page').textContent === `Page ${n}`, 2);
    eq('second page: the rest', await listNames(), names.slice(PAGE_SIZE));
    eq('count on the last page', await page.$eval('#models-count', (e) => e.textContent), `${PAGE_SIZE + 1}–${names.length} of ${names.length}`);
    check('Next disabled on the last page', await page.$eval('#models-next', (b) => b.disabled));
    check('the page token is in the URL', new URL(page.url()).searchParams.has('page_token'), page.url());
    check('page 2 asked the API with a page token', requests.some((r) => r.url.includes('registered-models/search') && r.url.includes('page_token=')));
    await page.click('#models-prev');
    await waitList((n) => document.querySelector('#models-page').textContent === `Page ${n}`, 1);
    eq('back to the first page', await listNames(), names.slice(0, PAGE_SIZE));
  });

  await step('search', async () => {
    await page.fill('#model-search', 'BERT');
    await waitList(() => document.querySelectorAll('#models tbody tr[data-name]').length === 1);
    eq('name search (ILIKE, any case)', await listNames(), ['sentiment-bert']);
    const req = requests.filter((r) => r.url.includes('registered-models/search')).pop();
    eq('the registry\'s name filter is used', new URL(req.url).searchParams.get('filter'), "name ILIKE '%BERT%'");
    eq('the query is in the URL', new URL(page.url()).searchParams.get('q'), 'BERT');
    eq('count', await page.$eval('#models-count', (e) => e.textContent), '1 model');
    await page.fill('#model-search', "it's");
    await waitList((n) => (document.querySelector('#models tbody tr[data-name]') || {}).dataset?.name === n, ODD_NAME);
    check('a quote in the search is escaped, not an error', await page.$eval('#models-error', (e) => e.hidden));
    await page.fill('#model-search', 'no-such-model');
    await waitList(() => /No model matches/.test(document.querySelector('#models tbody').textContent));
    check('no match says so', true);
    // a deep link keeps the query
    await open('/models?q=churn');
    eq('deep link with ?q=', [await page.$eval('#model-search', (e) => e.value), await listNames()], ['churn', ['churn-classifier']]);
  });

  const readTable = () => page.$$eval('#versions tbody tr[data-version]', (trs) => trs.map((tr) => ({
    version: tr.dataset.version, stage: tr.dataset.stage, runId: tr.dataset.runId, key: tr.dataset.metricKey,
    metric: tr.dataset.metric, co2G: tr.dataset.co2G, perKg: tr.dataset.perKg,
    badges: [...tr.querySelectorAll('td.badges .badge')].map((b) => b.textContent),
    run: [tr.querySelector('td.run a')?.textContent, tr.querySelector('td.run a')?.getAttribute('href')],
    metricText: tr.querySelector('td.metric').textContent, co2Text: tr.querySelector('td.co2').textContent,
    perKgText: tr.querySelector('td.perkg').textContent, selected: tr.classList.contains('selected'),
  })));
  // The table against the carbon endpoint, formatted as the page's fmt.js does.
  const checkVersions = async (model, runs, key) => {
    const rows = await readTable();
    const m = await getModel(model);
    const expect = [];
    for (let v = runs.length; v >= 1; v--) {
      const c = await carbonOf(model, String(v));
      const run = runs[v - 1];
      const fmtd = await page.evaluate(async (x) => {
        const f = await import('/js/fmt.js');
        return { co2: f.co2(x.co2), perKg: f.sig(x.perKg, 4), metric: f.metric(x.metric) };
      }, { co2: c.carbon.co2_g, perKg: c.metric_per_kg_co2, metric: c.metric.value });
      const stageName = (m.latest_versions || []).find((lv) => lv.version === String(v))?.current_stage;
      const aliases = (m.aliases || []).filter((a) => a.version === String(v)).map((a) => '@' + a.alias).sort();
      expect.push({
        version: String(v), stage: rows.find((r) => r.version === String(v))?.stage, runId: run.run_id, key: c.metric.key,
        metric: String(c.metric.value), co2G: String(c.carbon.co2_g), perKg: String(c.metric_per_kg_co2),
        badges: [...(stageName && stageName !== 'None' ? [stageName] : []), ...aliases],
        run: [run.name, `/runs/${run.run_id}`], metricText: fmtd.metric, co2Text: fmtd.co2, perKgText: fmtd.perKg,
        selected: rows.find((r) => r.version === String(v))?.selected,
      });
      check(`${model} v${v}: carbon endpoint judges by ${key}`, c.metric.key === key, JSON.stringify(c.metric));
      check(`${model} v${v}: CO2 = kWh x intensity`, Math.abs(c.carbon.co2_g - run.kwh * c.carbon.intensity_g_per_kwh * c.carbon.pue) < 1e-9 * Math.max(1, c.carbon.co2_g),
        JSON.stringify(c.carbon));
    }
    eq(`${model}: the versions table is the carbon endpoint's numbers`, rows, expect);
    return { rows, expect };
  };

  await step('model page', async () => {
    await open(modelPath('churn-classifier'));
    eq('crumbs', await page.$$eval('#crumbs > :not(.sep)', (es) => es.map((e) => e.textContent)), ['Models', 'churn-classifier']);
    eq('models section current', await page.$eval('#sections a[aria-current]', (a) => a.textContent), 'Models');
    eq('heading', await page.$eval('#model-head h1', (e) => e.textContent), 'churn-classifier');
    eq('metric column is the judged metric', await page.$eval('#versions thead th.metric', (e) => e.textContent), 'acc');
    eq('per-kg column', await page.$eval('#versions thead th.perkg', (e) => e.textContent), 'acc / kg CO₂');
    const { rows } = await checkVersions('churn-classifier', s.churn, 'acc');
    eq('stages and aliases per version', rows.map((r) => [r.version, ...r.badges]),
      [['4', '@challenger'], ['3', 'Production', '@champion'], ['2', 'Staging'], ['1', 'Archived']]);
    eq('no est. badge for measured energy', await page.$$eval('#versions td.co2 .badge.est', (b) => b.length), 0);
    // the chart: one dot per version, the Pareto front as the rule says
    const chart = await page.$eval('#versions-chart', (e) => ({ points: e.dataset.points, front: e.dataset.front, canvas: !!e.querySelector('canvas') }));
    const pts = [];
    for (const v of ['1', '2', '3', '4']) {
      const c = await carbonOf('churn-classifier', v);
      pts.push({ version: v, x: c.carbon.co2_g, y: c.metric.value });
    }
    pts.sort((a, b) => a.x - b.x || a.y - b.y);
    eq('chart: a uPlot canvas with 4 versions and their Pareto front', chart, { points: '4', front: front(pts, true).join(','), canvas: true });
    eq('which is v1, v4, v3 here (v2 is beaten by v4)', chart.front, '1,4,3');
    const dot = await page.evaluate(() => window.__gtVersions.pointOf('4'));
    await page.mouse.move(dot.x, dot.y);
    await page.waitForSelector('#tooltip:not([hidden])');
    const tip = await page.$eval('#tooltip', (e) => e.textContent);
    check('hovering a dot shows the version', tip.includes('Version 4') && tip.includes('@challenger') && tip.includes('on the Pareto front'), tip);
    await page.mouse.click(dot.x, dot.y);
    await page.waitForFunction((id) => location.pathname === `/runs/${id}`, s.churn[3].run_id);
    check('clicking a dot opens its source run', true);
  });

  await step('judged metric from greentrack.metric', async () => {
    await open(modelPath('sentiment-bert'));
    eq('metric column from the tag', await page.$eval('#versions thead th.metric', (e) => e.textContent), 'val_loss');
    const { rows } = await checkVersions('sentiment-bert', s.nlp, 'val_loss');
    const c = await carbonOf('sentiment-bert', '1');
    eq('lower is better for a loss', c.metric.direction, 'min');
    eq('per kg CO2 is the value over kg', Number(rows[2].perKg), c.metric.value / (c.carbon.co2_g / 1000));
    const chart = await page.$eval('#versions-chart', (e) => e.dataset);
    const pts = [];
    for (const v of ['1', '2', '3']) {
      const cc = await carbonOf('sentiment-bert', v);
      pts.push({ version: v, x: cc.carbon.co2_g, y: cc.metric.value });
    }
    pts.sort((a, b) => a.x - b.x || a.y - b.y);
    eq('chart front with lower-is-better', chart.front, front(pts, false).join(','));
    check('summary says lower is better', (await page.$eval('.versions-card .summary', (e) => e.textContent)).includes('lower is better'));
  });

  await step('deep link to a version', async () => {
    await open(modelPath('churn-classifier', 3));
    eq('?version=3 marks its row', await page.$$eval('#versions tr.selected', (trs) => trs.map((t) => t.dataset.version)), ['3']);
  });

  await step('edit description', async () => {
    await open(modelPath('churn-classifier'));
    eq('description shown', await page.$eval('#description-text', (e) => e.textContent), 'Predicts which customers leave.');
    await page.click('#description-edit');
    const text = 'Predicts churn 30 days ahead.\nTrained weekly; <b>not</b> HTML.';
    await page.fill('#description-input', text);
    await page.click('#description-save');
    await page.waitForFunction((t) => document.querySelector('#description-text')?.textContent === t, text);
    eq('saved description shown as text', await page.$eval('#description-text', (e) => [e.textContent, e.children.length]), [text, 0]);
    eq('API: the description persisted', (await getModel('churn-classifier')).description, text);
    check('saved with registered-models/update (PATCH)', requests.some((r) => r.method === 'PATCH' && r.url.endsWith('/registered-models/update')));
    await open(modelPath('churn-classifier'));
    eq('after a reload', await page.$eval('#description-text', (e) => e.textContent), text);
    // cancel leaves it alone
    await page.click('#description-edit');
    await page.fill('#description-input', 'discarded');
    await page.click('#description-cancel');
    eq('cancel keeps the old text', await page.$eval('#description-text', (e) => e.textContent), text);
    eq('API: unchanged after cancel', (await getModel('churn-classifier')).description, text);
  });

  const tagRows = () => page.$$eval('#model-tags table.tags tr', (trs) => trs.map((tr) => [tr.dataset.key, tr.querySelector('td').textContent]));
  const apiTags = async (name) => Object.fromEntries(((await getModel(name)).tags || []).map((t) => [t.key, t.value]));
  const setTag = async (k, v) => {
    await page.fill('#tag-key', k);
    await page.fill('#tag-value', v);
    await page.click('#tag-set');
    await page.waitForFunction(([kk, vv]) => [...document.querySelectorAll('#model-tags table.tags tr')]
      .some((tr) => tr.dataset.key === kk && tr.querySelector('td').textContent === vv), [k, v]);
  };

  await step('edit tags', async () => {
    eq('tags shown', await tagRows(), [['team', 'growth']]);
    await setTag('owner', 'ana');
    eq('a new tag shown', await tagRows(), [['owner', 'ana'], ['team', 'growth']]);
    eq('API: the new tag persisted', await apiTags('churn-classifier'), { owner: 'ana', team: 'growth' });
    await page.click('#model-tags tr[data-key="team"] button[aria-label="Edit tag team"]');
    eq('Edit fills the form', await page.$eval('#tag-key', (e) => e.value), 'team');
    await page.fill('#tag-value', 'retention');
    await page.click('#tag-set');
    await page.waitForFunction(() => document.querySelector('#model-tags tr[data-key="team"] td')?.textContent === 'retention');
    eq('API: the changed value persisted', await apiTags('churn-classifier'), { owner: 'ana', team: 'retention' });
    await page.click('#model-tags tr[data-key="owner"] button[aria-label="Delete tag owner"]');
    await page.waitForFunction(() => !document.querySelector('#model-tags tr[data-key="owner"]'));
    eq('API: the deleted tag is gone', await apiTags('churn-classifier'), { team: 'retention' });
    check('deleted with registered-models/delete-tag (DELETE)', requests.some((r) => r.method === 'DELETE' && r.url.endsWith('/registered-models/delete-tag')));
    await page.fill('#tag-key', 'bad:key');
    await page.fill('#tag-value', 'x');
    await page.click('#tag-set');
    await page.waitForSelector('#tag-error:not([hidden])');
    check('a refused key shows the server\'s message', /Invalid/i.test(await page.$eval('#tag-error', (e) => e.textContent)),
      await page.$eval('#tag-error', (e) => e.textContent));
    eq('API: nothing stored', await apiTags('churn-classifier'), { team: 'retention' });
  });

  await step('greentrack.metric set in the page', async () => {
    await setTag('greentrack.metric', 'loss');
    await page.waitForFunction(() => document.querySelector('#versions thead th.metric')?.textContent === 'loss' &&
      !document.querySelector('#versions').hasAttribute('aria-busy'));
    await checkVersions('churn-classifier', s.churn, 'loss');
    await page.click('#model-tags tr[data-key="greentrack.metric"] button[aria-label="Delete tag greentrack.metric"]');
    await page.waitForFunction(() => document.querySelector('#versions thead th.metric')?.textContent === 'acc' &&
      !document.querySelector('#versions').hasAttribute('aria-busy'));
    eq('back to the leaderboard\'s metric', (await carbonOf('churn-classifier', '1')).metric.key, 'acc');
  });

  await step('odd model name', async () => {
    await open(`/models?q=${encodeURIComponent('vision')}`);
    const href = await page.$eval('#models td.name a', (a) => a.getAttribute('href'));
    eq('the name is one encoded path segment', href, modelPath(ODD_NAME));
    await page.click('#models td.name a');
    await page.waitForSelector('main#app[data-ready="1"] #versions');
    eq('its page', await page.$eval('#model-head h1', (e) => e.textContent), ODD_NAME);
    eq('its version', (await readTable()).map((r) => [r.version, r.run[0]]), [['1', 'distilbert']]);
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('main#app[data-ready="1"] #versions');
    eq('a reload of its page (a name with a dot) loads it again', await page.$eval('#model-head h1', (e) => e.textContent), ODD_NAME);
  });

  await step('run page links', async () => {
    const r3 = s.churn[2];
    await open(`/runs/${r3.run_id}`);
    await page.waitForSelector('#registered:not([hidden])');
    const links = await page.$$eval('#registered a.model-version', (as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
    eq('the versions registered from the run', links,
      [['churn-classifier v3', modelPath('churn-classifier', 3)], ['filler-00 v1', modelPath('filler-00', 1)]]);
    const req = requests.filter((r) => r.url.includes('model-versions/search')).pop();
    eq('found with the registry\'s run_id filter', new URL(req.url).searchParams.get('filter'), `run_id = '${r3.run_id}'`);
    eq('stage badge beside the link', await page.$eval('#registered .ver[data-name="churn-classifier"] .badge', (b) => b.textContent), 'Production');
    await page.click('#registered a.model-version');
    await page.waitForSelector('main#app[data-ready="1"] #versions');
    eq('the link opens the model with the version marked', [new URL(page.url()).pathname,
      await page.$$eval('#versions tr.selected', (trs) => trs.map((t) => t.dataset.version))], ['/models/churn-classifier/', ['3']]);
    await open(`/runs/${s.lonely.run_id}`);
    await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.includes('model-versions/search')));
    await page.waitForTimeout(300);
    check('a run never registered shows no link', await page.$eval('#registered', (e) => e.hidden));
  });

  await step('screenshots', async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await open('/models');
      await page.screenshot({ path: path.join(SHOTS, `models-list-${scheme}.png`) });
      await open(modelPath('churn-classifier', 3));
      await page.screenshot({ path: path.join(SHOTS, `models-model-${scheme}.png`), fullPage: true });
      await open(`/runs/${s.churn[2].run_id}`);
      await page.waitForSelector('#registered:not([hidden])');
      await page.screenshot({ path: path.join(SHOTS, `models-run-${scheme}.png`), clip: { x: 0, y: 0, width: 1400, height: 260 } });
    }
    await page.emulateMedia({ colorScheme: 'light' });
    check('screenshots written', fs.existsSync(path.join(SHOTS, 'models-model-dark.png')));
  });

  await step('unknown model', async () => {
    await page.goto(BASE + '/models/no-such-model', { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('main#app .error');
    const t = await page.$eval('main#app .error', (e) => e.textContent);
    check('says the model is not found', t.includes('Registered Model with name=no-such-model not found'), t);
    // (main.js logs the view's error on the console)
    pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !e.includes('name=no-such-model not found')));
  });

  checkPageClean(watched);
});
