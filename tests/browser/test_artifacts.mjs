// SPDX-License-Identifier: MIT
// The run page's Artifacts panel (web/js/artifacts.js) and the
// leaderboard's "model" mark in Debian's Chromium, against the real server
// with its artifact proxy: files uploaded with PUT as an MLflow client
// would (text, JSON, a 2000-row CSV, a PNG, nested folders, a model folder
// with its MLmodel, a 5 MiB log), then what the panel shows: the tree with
// sizes, folders listed only when opened, download links, the previews,
// a large file read with a Range request and not whole, and two older
// runs with local-path artifact URIs (one the proxy can serve, one it
// cannot). Also the YAML reader (web/js/yaml.js) on MLflow's shapes.
//
// Usage:  node tests/browser/test_artifacts.mjs
// Same prerequisites as test_ui.mjs (Chromium, playwright-core). Shots go
// to build/browser-screenshots/artifacts-*.png. The last line is
// "test_artifacts: N passed, M failed".

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { checkPageClean, failedLoad, launchChromium, openPage } from './playwright.mjs';
import { check, eq, startSuite, step } from './report.mjs';
import { api as apiAt, J_PER_KWH, runSuite, SHOTS, seedRun, WAIT_MS } from './server.mjs';

const SUITE = 'test_artifacts';
startSuite(SUITE);
const PREVIEW_BYTES = 256 * 1024; // web/js/artifacts.js
const BIG_BYTES = 5 * 1024 * 1024;
const CSV_ROWS = 2000;

let BASE = '';
const api = (method, p, body) => apiAt(BASE, method, p, body);

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';
const proxyUrl = (p) => PROXY + '/' + p.split('/').map(encodeURIComponent).join('/');

// PUT as MLflow's Python client uploads one file.
async function put(p, data) {
  const res = await fetch(BASE + proxyUrl(p), { method: 'PUT', body: data });
  const text = await res.text();
  if (!res.ok) throw new Error(`PUT ${p} -> ${res.status} ${text}`);
}

// A small RGB PNG (a gradient), made here so the test needs no image file.
function png(w, hgt) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(hgt, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const raw = Buffer.alloc((w * 3 + 1) * hgt);
  for (let y = 0; y < hgt; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = Math.round((255 * x) / w); raw[o + 1] = 160; raw[o + 2] = Math.round((255 * y) / hgt);
    }
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// An MLmodel as mlflow.sklearn.log_model writes it (PyYAML safe_dump:
// sorted keys, long signature strings folded at 80 columns).
const MLMODEL = `artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.10.12
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.3.2
mlflow_version: 2.9.2
model_size_bytes: 3072
model_uuid: 5c1d0e7f4b2a4f0e9d3c2b1a09876543
run_id: RUN_ID
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type":
    "double", "name": "sepal width (cm)", "required": true}, {"type": "double", "name":
    "petal length (cm)", "required": true}, {"type": "double", "name": "petal width
    (cm)", "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
utc_time_created: '2024-05-01 10:20:30.123456'
`;
const CONDA = `channels:
- conda-forge
dependencies:
- python=3.10.12
- pip<=23.3.1
- pip:
  - mlflow==2.9.2
  - scikit-learn==1.3.2
name: mlflow-env
`;

// The files of the proxied run, by run-relative path.
function files(runId) {
  const csv = ['step,loss,acc'];
  for (let i = 1; i <= CSV_ROWS; i++) csv.push(`${i},${(2 / i).toFixed(6)},"${(0.5 + i / 5000).toFixed(4)}"`);
  const line = 'epoch 0001 step 000001 loss 0.123456 - the quick brown fox jumps over the lazy dog\n';
  const big = Buffer.alloc(BIG_BYTES);
  for (let o = 0; o < BIG_BYTES; o += line.length) big.write(line, o, 'latin1');
  const pkl = Buffer.alloc(3072);
  for (let i = 0; i < pkl.length; i++) pkl[i] = (i * 37) & 0xff;
  return {
    'notes.txt': 'Training notes\nlr 0.01 → 0.001, batch 64\n',
    'metrics.json': JSON.stringify({ acc: 0.93, loss: 0.21, per_class: [0.9, 0.95, 0.94], meta: { epochs: 10 } }),
    'table.csv': csv.join('\n') + '\n',
    'plot.png': png(64, 48),
    'empty.txt': '',
    'big.log': big,
    'nested/deeper/readme.md': '# Deep\n\nA file two folders down.\n',
    'nested/config.yaml': 'optimizer: adam\nlr: 0.01\nlayers: [64, 32]\n',
    'model/MLmodel': MLMODEL.replace('RUN_ID', runId),
    'model/conda.yaml': CONDA,
    'model/model.pkl': pkl,
  };
}

async function seed(tmp) {
  const now = Date.now();
  const { experiment_id: exp } = await api('POST', 'mlflow/experiments/create', { name: 'art' });
  const mk = async (name, e = exp) => (await seedRun((p, b) => api('POST', p, b), {
    experiment_id: e, run_name: name, start_time: now - 600e3, end_time: now - 60e3,
    metrics: [{ key: 'acc', value: 0.9, timestamp: now - 60e3, step: 1 }],
    samples: [{ start_time: now - 600e3, end_time: now - 60e3, cpu_energy_j: 0.01 * J_PER_KWH, cpu_method: 'rapl' }],
  })).info;
  const main = await mk('with-files');
  const plain = await mk('no-model');
  const root = /^mlflow-artifacts:\/(.*)$/.exec(main.artifact_uri);
  const base = root ? root[1].replace(/^\/+/, '') : `${exp}/${main.run_id}/artifacts`;
  const content = files(main.run_id);
  for (const [p, data] of Object.entries(content)) await put(`${base}/${p}`, data);
  await api('POST', 'mlflow/runs/log-model', {
    run_id: main.run_id,
    model_json: JSON.stringify({ artifact_path: 'model', flavors: { python_function: {}, sklearn: {} },
      utc_time_created: '2024-05-01 10:20:30.123456', run_id: main.run_id }),
  });
  // An older run whose files are at a local path outside the root: listed
  // by the tracking API, not servable by the proxy.
  const outside = path.join(tmp, 'elsewhere');
  const { experiment_id: expOut } = await api('POST', 'mlflow/experiments/create', { name: 'art-outside', artifact_location: outside });
  const out = await mk('outside', expOut);
  fs.mkdirSync(path.join(out.artifact_uri, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(out.artifact_uri, 'a.txt'), 'hello\n');
  fs.writeFileSync(path.join(out.artifact_uri, 'sub', 'b.txt'), 'world!\n');
  // An older run at a local path under the root: the proxy serves it.
  const { experiment_id: expOld } = await api('POST', 'mlflow/experiments/create',
    { name: 'art-old', artifact_location: path.join(tmp, 'artifacts', 'old') });
  const old = await mk('old', expOld);
  fs.mkdirSync(old.artifact_uri, { recursive: true });
  fs.writeFileSync(path.join(old.artifact_uri, 'old.txt'), 'from before the proxy\n');
  return { exp, main, plain, base, content, out, old };
}

runSuite('gt-art-', async (suite) => {
  const { tmp } = suite;
  // (--allow-external-artifact-locations: artifacts/list may read the
  // run stored outside the root, which the proxy still cannot serve)
  const srv = suite.start(tmp, { args: ['--allow-external-artifact-locations'] });
  BASE = await srv.base;
  const [s, br] = await Promise.all([seed(tmp), launchChromium()]);
  suite.browser = br;
  const { main: run, base, content } = s;
  check('a new run gets an mlflow-artifacts: URI', run.artifact_uri === `mlflow-artifacts:/${s.exp}/${run.run_id}/artifacts`,
    run.artifact_uri);
  // (the experiment page's schedule advice answers 400 for runs without a zone)
  const watched = await openPage(br, { viewport: { width: 1280, height: 900 }, colorScheme: 'light' },
    { timeout: WAIT_MS, origins: [BASE], ignored: failedLoad('/greentrack/schedule') });
  const { page, requests } = watched;
  const failed = [];
  page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
  const listed = (dir) => requests.filter((r) => r.url.startsWith(BASE + PROXY + '?') &&
    new URL(r.url).searchParams.get('path') === dir);

  const open = async (p) => {
    await page.goto(BASE + p, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('main#app[data-ready="1"]', { timeout: WAIT_MS });
    await page.waitForSelector('#artifacts:not([data-state="loading"])', { timeout: WAIT_MS });
  };
  const row = (p) => `#artifacts li[data-path="${p}"] > .art-row`;
  const showFile = async (p) => {
    await page.click(`${row(p)} .art-name`);
    await page.waitForFunction((x) => {
      const el = document.querySelector('#artifact-preview');
      return el.dataset.path === x && !['loading', 'empty'].includes(el.dataset.state);
    }, p, { timeout: WAIT_MS });
    return page.$eval('#artifact-preview', (el) => ({ ...el.dataset, text: el.textContent }));
  };
  const pre = () => page.$eval('#artifact-preview pre.art-text', (e) => e.textContent);
  const expand = async (p) => {
    await page.click(`${row(p)} .art-name`);
    await page.waitForFunction((x) => {
      const li = document.querySelector(`#artifacts li[data-path="${x}"]`);
      return li && li.querySelector(':scope > ul') && !li.hasAttribute('aria-busy');
    }, p, { timeout: WAIT_MS });
  };
  const names = (sel) => page.$$eval(sel, (lis) => lis.map((li) => li.dataset.path));

  await step('tree', async () => {
    await open(`/runs/${run.run_id}`);
    eq('panel reads through the proxy', await page.$eval('#artifacts', (e) => e.dataset.mode), 'proxy');
    eq('root entries: folders first, then files by name', await names('#artifacts .art-tree > li'),
      ['model', 'nested', 'big.log', 'empty.txt', 'metrics.json', 'notes.txt', 'plot.png', 'table.csv']);
    const sizes = await page.$$eval('#artifacts .art-tree > li > .art-row', (rs) => rs.map((r) => r.querySelector('.art-size').textContent));
    eq('sizes shown for files', sizes.slice(2, 4), ['5 MiB', '0 B']);
    check('folder is not listed before it is opened', listed(`${base}/nested`).length === 0 && listed(`${base}/nested/deeper`).length === 0,
      JSON.stringify(requests.filter((r) => r.url.includes('?path=')).map((r) => r.url)));
    const links = await page.$$eval('#artifacts .art-tree > li[data-kind=file] a.art-dl', (as) => as.map((a) => [a.getAttribute('href'), a.getAttribute('download')]));
    eq('download links are the proxy GET URLs with a download name',
      links, ['big.log', 'empty.txt', 'metrics.json', 'notes.txt', 'plot.png', 'table.csv'].map((n) => [proxyUrl(`${base}/${n}`), n]));
    const got = await page.evaluate(async (u) => (await fetch(u)).text(), proxyUrl(`${base}/notes.txt`));
    eq('a download link serves the file', got, content['notes.txt']);
    check('model folder marked as a model', await page.$(`${row('model')} .badge.model`) !== null);
  });

  await step('nested folders', async () => {
    await expand('nested');
    check('opening a folder lists it then', listed(`${base}/nested`).length === 1);
    eq('nested folder entries', await names('#artifacts li[data-path="nested"] > ul > li'), ['nested/deeper', 'nested/config.yaml']);
    await expand('nested/deeper');
    const p = await showFile('nested/deeper/readme.md');
    check('markdown shown as text', p.kind === 'text' && (await pre()) === content['nested/deeper/readme.md'], p.text);
    const y = await showFile('nested/config.yaml');
    check('YAML shown as text', y.kind === 'yaml' && (await pre()) === content['nested/config.yaml'], y.text);
    const shown = new URL(page.url()).searchParams.get('artifact');
    eq('the URL names the file shown', shown, 'nested/config.yaml');
    await page.click(`${row('nested')} .art-name`);
    check('a folder closes again', await page.$eval('#artifacts li[data-path="nested"] > ul', (u) => u.hidden));
  });

  await step('previews', async () => {
    let p = await showFile('notes.txt');
    check('text preview', p.kind === 'text' && (await pre()) === content['notes.txt'] && !p.truncated, JSON.stringify(p));
    const dl = await page.$eval('#artifact-preview a.art-download', (a) => [a.getAttribute('href'), a.getAttribute('download')]);
    eq('preview has a download link', dl, [proxyUrl(`${base}/notes.txt`), 'notes.txt']);
    p = await showFile('metrics.json');
    eq('JSON pretty-printed', await pre(), JSON.stringify(JSON.parse(content['metrics.json']), null, 2));
    p = await showFile('table.csv');
    const csv = await page.$eval('#artifact-preview', (el) => ({
      head: [...el.querySelectorAll('thead th')].map((t) => t.textContent),
      rows: el.querySelectorAll('tbody tr').length,
      first: [...el.querySelector('tbody tr').cells].map((c) => c.textContent),
      note: (el.querySelector('.art-trunc') || {}).textContent || '',
    }));
    eq('CSV header', csv.head, ['step', 'loss', 'acc']);
    eq('CSV table shows 1000 rows', csv.rows, 1000);
    eq('CSV quoted cell unquoted', csv.first, ['1', '2.000000', '0.5002']);
    check('CSV says it is truncated', p.truncated === '1' && csv.note.includes('first 1,000 of 2,000 rows'), csv.note);
    p = await showFile('plot.png');
    const img = await page.$eval('#artifact-preview img', (i) => ({ src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight }));
    eq('image shown from the GET URL', img, { src: proxyUrl(`${base}/plot.png`), w: 64, h: 48 });
    check('image size shown', p.state === 'ok' && p.text.includes('64 × 48 px'), p.text);
    p = await showFile('empty.txt');
    check('empty file', p.state === 'ok' && p.text.includes('Empty file.'), p.text);
  });

  await step('large file', async () => {
    const url = BASE + proxyUrl(`${base}/big.log`);
    const before = requests.length;
    const respP = page.waitForResponse((r) => r.url() === url);
    const p = await showFile('big.log');
    const resp = await respP;
    let size = -1;
    try { size = (await resp.body()).length; } catch { /* the page stopped reading */ }
    const got = { status: resp.status(), range: resp.headers()['content-range'] || null, size };
    const reqs = requests.slice(before).filter((r) => r.url === url);
    check('preview asked for a Range', reqs.length === 1 && reqs[0].range === `bytes=0-${PREVIEW_BYTES - 1}`, JSON.stringify(reqs));
    check('the server answered 206 with the first 256 KiB only', got.status === 206 &&
      got.range === `bytes 0-${PREVIEW_BYTES - 1}/${BIG_BYTES}` && got.size <= PREVIEW_BYTES, JSON.stringify(got));
    const note = await page.$eval('#artifact-preview .art-trunc', (e) => e.textContent).catch(() => '');
    check('preview says it is truncated', p.truncated === '1' && note.includes('256 KiB of 5 MiB'), note);
    const text = await pre();
    check('preview holds the head of the file', text.length > 1000 && text.length <= PREVIEW_BYTES &&
      text.startsWith('epoch 0001'), String(text.length));
  });

  await step('MLmodel', async () => {
    await expand('model');
    eq('model folder entries', await names('#artifacts li[data-path="model"] > ul > li'), ['model/conda.yaml', 'model/MLmodel', 'model/model.pkl']);
    const p = await showFile('model/MLmodel');
    check('MLmodel read as a model', p.kind === 'mlmodel' && p.state === 'ok' && !(await page.$('#artifact-preview .art-error')), p.text.slice(0, 300));
    eq('flavors shown', await page.$$eval('#artifact-preview .flavor', (fs) => fs.map((f) => f.dataset.flavor)), ['python_function', 'sklearn']);
    const flav = await page.$eval('#artifact-preview .flavor[data-flavor=sklearn]', (f) =>
      Object.fromEntries([...f.querySelectorAll('tr')].map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent])));
    check('flavor settings shown', flav.sklearn_version === '1.3.2' && flav.serialization_format === 'cloudpickle', JSON.stringify(flav));
    const pyf = await page.$eval('#artifact-preview .flavor[data-flavor=python_function]', (f) => f.textContent);
    check('nested flavor settings flattened', pyf.includes('env.conda') && pyf.includes('conda.yaml'), pyf);
    const table = (k) => page.$$eval(`#artifact-preview .schema[data-schema=${k}] tbody tr`, (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    eq('signature inputs', await table('inputs'), [
      ['0', 'sepal length (cm)', 'double', '', 'required'], ['1', 'sepal width (cm)', 'double', '', 'required'],
      ['2', 'petal length (cm)', 'double', '', 'required'], ['3', 'petal width (cm)', 'double', '', 'optional']]);
    eq('signature outputs (a tensor)', await table('outputs'), [['0', '—', 'tensor int64', '(-1)', 'required']]);
    const facts = await page.$eval('#artifact-preview .model-facts', (e) => e.textContent);
    check('model facts shown', facts.includes('2.9.2') && facts.includes('3 KiB') && facts.includes('2024-05-01 10:20:30'), facts);
    const b = await showFile('model/model.pkl');
    check('binary file: no preview', b.kind === 'binary' && b.text.includes('Binary file'), b.text);
    const c = await showFile('model/conda.yaml');
    check('conda.yaml shown', c.kind === 'yaml' && (await pre()) === CONDA, c.text);
  });

  await step('screenshots', async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [file, shot] of [['model/MLmodel', 'mlmodel'], ['table.csv', 'csv'], ['big.log', 'text']]) {
        await open(`/runs/${run.run_id}?artifact=${encodeURIComponent(file)}`);
        await page.waitForFunction((x) => {
          const el = document.querySelector('#artifact-preview');
          return el.dataset.path === x && el.dataset.state === 'ok';
        }, file, { timeout: WAIT_MS });
        await page.$eval('#artifacts', (e) => e.scrollIntoView());
        await page.locator('#artifacts').screenshot({ path: path.join(SHOTS, `artifacts-${shot}-${scheme}.png`) });
      }
    }
    check('deep link opens the file', (await page.$eval('#artifact-preview', (e) => e.dataset.path)) === 'big.log');
    await page.screenshot({ path: path.join(SHOTS, 'artifacts-page.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await step('leaderboard mark', async () => {
    const lb = await api('GET', `greentrack/leaderboard?experiment_id=${s.exp}&metric=acc`);
    const flags = Object.fromEntries(lb.runs.map((r) => [r.run_name, r.has_model]));
    eq('leaderboard API: has_model per row', [flags['with-files'], flags['no-model']], [true, false]);
    await page.goto(`${BASE}/experiments/${s.exp}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('main#app[data-ready="1"]', { timeout: WAIT_MS });
    const marks = await page.$$eval('#leaderboard tbody tr[data-run-id]', (trs) => Object.fromEntries(trs.map((tr) =>
      [tr.querySelector('td.name a').textContent, tr.querySelector('td.name .badge.model').checkVisibility()])));
    eq('leaderboard shows the model mark on the run with a model only', [marks['with-files'], marks['no-model']], [true, false]);
    await page.locator('section.lb-table').screenshot({ path: path.join(SHOTS, 'artifacts-leaderboard.png') });
  });

  await step('local path outside the root', async () => {
    await open(`/runs/${s.out.run_id}`);
    const st = await page.$eval('#artifacts', (e) => ({ ...e.dataset, notice: e.querySelector('.art-notice').textContent }));
    check('listed with the tracking API', st.mode === 'tracking' && st.state === 'ok', JSON.stringify(st));
    eq('entries', await names('#artifacts .art-tree > li'), ['sub', 'a.txt']);
    eq('size', await page.$eval(`${row('a.txt')} .art-size`, (e) => e.textContent), '6 B');
    check('says the files cannot be downloaded', st.downloads === 'no' && /cannot be downloaded/.test(st.notice), st.notice);
    eq('no download links', (await page.$$('#artifacts a.art-dl')).length, 0);
    await expand('sub');
    eq('its folders open', await names('#artifacts li[data-path="sub"] > ul > li'), ['sub/b.txt']);
    const p = await showFile('a.txt');
    check('no preview either', p.state === 'unavailable', JSON.stringify(p));
  });

  await step('local path under the root', async () => {
    await open(`/runs/${s.old.run_id}`);
    const st = await page.$eval('#artifacts', (e) => ({ ...e.dataset }));
    check('the proxy serves the same folder', st.mode === 'proxy' && st.downloads !== 'no', JSON.stringify(st));
    const href = await page.$eval(`${row('old.txt')} a.art-dl`, (a) => a.getAttribute('href'));
    eq('download link', href, proxyUrl(`old/${s.old.run_id}/artifacts/old.txt`));
    await showFile('old.txt');
    eq('preview', await pre(), 'from before the proxy\n');
  });

  await step('YAML reader', async () => {
    const r = await page.evaluate(async (src) => {
      const { parseYaml } = await import('/js/yaml.js');
      const out = {};
      const tryParse = (t) => { try { return parseYaml(t); } catch (e) { return 'error: ' + e.message; } };
      out.mlmodel = tryParse(src);
      out.conda = tryParse('dependencies:\n- python=3.10\n- pip:\n  - mlflow==2.9.2\n');
      out.scalars = tryParse("a: ~\nb: yes\nc: '3.10'\nd: 3.10\ne: \"x\\ty\"\nf: 'it''s'\ng: [1, {h: i}]\nj: |\n  one\n  two\nk: >-\n  folded\n  text\n");
      const proto = parseYaml('__proto__: 1\n');
      out.proto = [Object.getPrototypeOf(proto) === null, Object.keys(proto), proto.__proto__];
      out.anchor = tryParse('a: &x 1\nb: *x\n');
      out.dup = tryParse('a: 1\na: 2\n');
      return JSON.parse(JSON.stringify(out));
    }, MLMODEL);
    eq('folded signature string joined', JSON.parse(r.mlmodel.signature.inputs).map((c) => c.name),
      ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)']);
    eq('nested sequences', r.conda, { dependencies: ['python=3.10', { pip: ['mlflow==2.9.2'] }] });
    eq('scalars resolve as PyYAML does', r.scalars, { a: null, b: true, c: '3.10', d: 3.1, e: 'x\ty', f: "it's", g: [1, { h: 'i' }], j: 'one\ntwo\n', k: 'folded text' });
    eq('__proto__ is an ordinary key', r.proto, [true, ['__proto__'], 1]);
    check('anchors are refused', /^error: .*anchors/.test(r.anchor), r.anchor);
    check('duplicate keys are refused', /^error: .*duplicate/.test(r.dup), r.dup);
  });

  checkPageClean(watched, ' ' + failed.join(' '));
});
