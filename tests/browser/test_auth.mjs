// SPDX-License-Identifier: MIT
// The web UI with auth (web/js/views/login.js, tokens.js, admin.js, the
// header's account controls in main.js) in Debian's Chromium against the
// real server started with --auth and its admin from the environment:
// a page without a session goes to the login page (and the UI's 401s carry
// no WWW-Authenticate, so no Basic dialog), a wrong password, the login
// (the gt_session cookie HttpOnly and SameSite=Strict) and the way back;
// a token created with a ceiling and an experiment, its secret shown once,
// copied, working as Bearer, then revoked; users created, made admin, given
// a password and deleted, and an experiment's permissions granted, changed
// and revoked, each checked through the API; a READ user refused (the admin
// page, a model edit, an experiment it may not read); logout; HTML in a
// token name and an experiment name staying text; the throttle's 429 on
// the login form. Then a server without
// auth: no login, tokens or admin links, and the pages say auth is off.
// Last, the server over HTTPS (a self-signed certificate made here with
// openssl): the login works and the cookie is Secure.
//
// Usage:  GREENTRACK_BUILD=build/release node tests/browser/test_auth.mjs
// Same prerequisites as test_ui.mjs (Chromium, playwright-core). Shots go
// to build/browser-screenshots/auth-*.png. The last line is
// "test_auth: N passed, M failed".

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPageClean, launchChromium, openPage } from './playwright.mjs';
import { check, eq, startSuite, step } from './report.mjs';
import { buildDir, dbTarget, runSuite, SHOTS, seedRun, startProcess, stopProcess, WAIT_MS } from './server.mjs';

const SUITE = 'test_auth';
startSuite(SUITE);

const ADMIN = { username: 'chief', password: 'chief-Pa55-word' };
const READER = { username: 'reader', password: 'reader-pw-1' };
const XSS = '<img src=x onerror="window.__xss=1">tok';
const XSS_EXP = '<b onmouseover="window.__xss=2">bold</b> exp';
const q = (o) => new URLSearchParams(o).toString();
const basic = (c) => 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64');

// A REST call to /api/2.0/<p> with an Authorization header ('auth': a
// {username, password} for Basic, a string for Bearer, null for none):
// { status, headers, body (parsed, or the text) }.
async function call(base, auth, method, p, body) {
  const headers = {};
  if (body) headers['content-type'] = 'application/json';
  if (auth) headers.authorization = typeof auth === 'string' ? `Bearer ${auth}` : basic(auth);
  const res = await fetch(`${base}/api/2.0/${p}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  let parsed = text;
  try { parsed = text ? JSON.parse(text) : {}; } catch { /* text */ }
  return { status: res.status, headers: res.headers, body: parsed };
}
// The same, throwing unless it answers 2xx; the parsed body.
async function apiAs(base, auth, method, p, body) {
  const r = await call(base, auth, method, p, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${p} -> ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// 401s, 403s and 429s the suite provokes on purpose show up as failed
// loads, and so do the 404 of a grant to an unknown user and the 400 of
// the schedule panel of an experiment whose runs have no zone.
const expectedRefusals = (text, url) => /Failed to load resource: the server responded with a status of (40[13]|429)/.test(text) ||
  (/status of 404/.test(text) && url.includes('/experiments/permissions/create')) ||
  (/status of 400/.test(text) && url.includes('/greentrack/schedule'));

// What the page asked the API: every request to /api/ with whether it
// said it is the UI's own, and every 401 answer with its WWW-Authenticate.
function watchApi(page) {
  const seen = { requests: [], unauth: [] };
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) seen.requests.push({ url: r.url(), ui: r.headers()['x-greentrack-ui'] || null });
  });
  page.on('response', async (r) => {
    if (r.status() === 401 && new URL(r.url()).pathname.startsWith('/api/')) {
      seen.unauth.push({ url: r.url(), www: (await r.allHeaders())['www-authenticate'] || null });
    }
  });
  return seen;
}

const ready = (page) => page.waitForSelector('main#app[data-ready="1"]', { timeout: WAIT_MS });
const textOf = (page, sel) => page.$eval(sel, (e) => e.textContent);

async function logIn(page, who) {
  await page.fill('#login-username', who.username);
  await page.fill('#login-password', who.password);
  await page.click('#login-submit');
}

runSuite('gt-auth-', async (suite) => {
  const { tmp } = suite;
  const srv = suite.start(path.join(tmp, 'on'), {
    args: ['--auth'], label: 'auth',
    env: { GREENTRACK_ADMIN_USERNAME: ADMIN.username, GREENTRACK_ADMIN_PASSWORD: ADMIN.password },
  });
  const off = suite.start(path.join(tmp, 'off'), { label: 'off' });
  const [base, offBase] = await Promise.all([srv.base, off.base]);

  // ---- seed, as the admin through Basic
  const post = (p, b) => apiAs(base, ADMIN, 'POST', p, b);
  const { experiment_id: exp } = await post('mlflow/experiments/create', { name: 'auth-exp' });
  const { experiment_id: hidden } = await post('mlflow/experiments/create', { name: XSS_EXP });
  const now = Date.now();
  await seedRun(post, {
    experiment_id: exp, run_name: 'r1', start_time: now - 600e3, end_time: now - 60e3,
    metrics: [{ key: 'acc', value: 0.9, timestamp: now - 60e3, step: 1 }],
  });
  await post('mlflow/users/create', READER);
  // an experiment the reader creates, so manages
  const { experiment_id: readerExp } = await apiAs(base, READER, 'POST', 'mlflow/experiments/create', { name: 'reader-exp' });
  await post('mlflow/registered-models/create', { name: 'auth-model' });
  // the reader may not even read the second experiment
  await post('mlflow/experiments/permissions/create', { experiment_id: hidden, username: READER.username, permission: 'NO_PERMISSIONS' });
  const { experiment_id: offExp } = await apiAs(offBase, null, 'POST', 'mlflow/experiments/create', { name: 'open-exp' });

  suite.browser = await launchChromium();
  fs.mkdirSync(SHOTS, { recursive: true });
  const origin = new URL(base).origin;
  const watched = await openPage(suite.browser, {
    viewport: { width: 1280, height: 900 }, colorScheme: 'light', timezoneId: 'UTC',
    permissions: ['clipboard-read', 'clipboard-write'],
  }, { timeout: WAIT_MS, origins: [base, offBase], ignored: expectedRefusals });
  const { page, context } = watched;
  const seen = watchApi(page);
  const session = async () => (await context.cookies(origin)).find((c) => c.name === 'gt_session') || null;

  await step('no session: the login page', async () => {
    await page.goto(`${base}/experiments`, { waitUntil: 'domcontentloaded' });
    await page.waitForURL((u) => u.pathname === '/login', { timeout: WAIT_MS });
    await page.waitForSelector('#login-form', { timeout: WAIT_MS });
    eq('redirected to the login page, coming back to /experiments', new URL(page.url()).searchParams.get('next'), '/experiments');
    check('the header offers "Log in"', await page.isVisible('#account #login-link'));
    check('no experiment shown', (await page.$$('table.experiments')).length === 0);
    check('the UI\'s 401 happened', seen.unauth.length > 0, JSON.stringify(seen.unauth));
    check('the UI\'s 401s carry no WWW-Authenticate (no Basic dialog)', seen.unauth.every((u) => !u.www), JSON.stringify(seen.unauth));
    const raw = await call(base, null, 'GET', `mlflow/experiments/get?${q({ experiment_id: exp })}`);
    check('a client\'s 401 carries WWW-Authenticate', raw.status === 401 && /^Basic realm="greentrack"/.test(raw.headers.get('www-authenticate') || ''),
      `${raw.status} ${raw.headers.get('www-authenticate')}`);
    await page.screenshot({ path: path.join(SHOTS, 'auth-login.png') });
  });

  await step('wrong password', async () => {
    await logIn(page, { username: ADMIN.username, password: 'not-the-password' });
    await page.waitForSelector('#login-error:not([hidden])', { timeout: WAIT_MS });
    eq('wrong password: an error under the form', await textOf(page, '#login-error'), 'Wrong username or password.');
    eq('still on the login page', new URL(page.url()).pathname, '/login');
    check('no session cookie', !(await session()));
    eq('the password field is cleared', await page.inputValue('#login-password'), '');
  });

  await step('login', async () => {
    await logIn(page, ADMIN);
    await page.waitForURL((u) => u.pathname === '/experiments', { timeout: WAIT_MS });
    await ready(page);
    const names = await page.$$eval('table.experiments tbody a', (as) => as.map((a) => a.textContent));
    check('back on /experiments with the experiments', names.includes('auth-exp') && names.includes(XSS_EXP), JSON.stringify(names));
    const c = await session();
    check('session cookie set', !!c, JSON.stringify(await context.cookies()));
    if (c) {
      check('cookie HttpOnly', c.httpOnly === true);
      eq('cookie SameSite=Strict', c.sameSite, 'Strict');
      eq('cookie Path=/', c.path, '/');
      check('no Secure over plain HTTP', c.secure === false);
    }
    check('the page cannot read the cookie', !(await page.evaluate(() => document.cookie)).includes('gt_session'));
    check('the header names the user', (await textOf(page, '#whoami')).includes(ADMIN.username));
    check('admins see the Admin link', await page.isVisible('#admin-link'));
    check('and the Tokens link', await page.isVisible('#tokens-link'));
    check('no HTML from the experiment name', (await page.$$('table.experiments b')).length === 0);
    const bad = seen.requests.filter((r) => r.ui !== '1');
    check('every API call says X-Greentrack-UI: 1', seen.requests.length > 0 && bad.length === 0, JSON.stringify(bad.slice(0, 3)));
  });

  let secret = '';
  let tokenId = '';
  await step('token: create, copy', async () => {
    await page.click('#tokens-link');
    await page.waitForURL((u) => u.pathname === '/tokens', { timeout: WAIT_MS });
    await ready(page);
    check('the experiment is offered', (await page.$$(`#token-experiment option[value="${exp}"]`)).length === 1);
    await page.fill('#token-name', XSS);
    await page.fill('#token-days', '7');
    await page.selectOption('#token-ceiling', 'EDIT');
    await page.selectOption('#token-experiment', String(exp));
    const created = page.waitForResponse((r) => r.url().includes('/greentrack/tokens/create'));
    await page.click('#token-create');
    const answer = await (await created).json();
    await page.waitForSelector('#token-secret:not([hidden]) #token-secret-value', { timeout: WAIT_MS });
    secret = await textOf(page, '#token-secret-value');
    tokenId = String(answer.token && answer.token.id);
    check('the secret is shown', /^gtk_\S{16,}$/.test(secret), secret);
    eq('it is the one tokens/create gave', secret, answer.secret);
    eq('the token has the ceiling and the experiment', [answer.token.permission_ceiling, String(answer.token.experiment_id)], ['EDIT', String(exp)]);
    const days = (answer.token.expires - answer.token.created) / 86400e3;
    check('it expires in 7 days', Math.abs(days - 7) < 0.01 || Math.abs(days * 1000 - 7) < 0.01, JSON.stringify(answer.token));
    await page.click('#token-copy');
    await page.waitForFunction(() => document.querySelector('#token-copy-status').textContent !== '', null, { timeout: WAIT_MS });
    eq('copy: says so', await textOf(page, '#token-copy-status'), 'Copied.');
    eq('copy: the clipboard holds the secret', await page.evaluate(() => navigator.clipboard.readText()), secret);
    await page.waitForSelector(`#tokens tr[data-token-id="${tokenId}"][data-state="active"]`, { timeout: WAIT_MS });
    eq('listed with its name as text', await textOf(page, `#tokens tr[data-token-id="${tokenId}"] td.token-name`), XSS);
    check('no HTML from the name', (await page.$$('#tokens img, #token-secret img')).length === 0 &&
      (await page.evaluate(() => window.__xss)) === undefined);
    await page.screenshot({ path: path.join(SHOTS, 'auth-tokens.png') });
  });

  await step('token: works as Bearer, shown once', async () => {
    const r = await call(base, secret, 'GET', `mlflow/experiments/get?${q({ experiment_id: exp })}`);
    eq('Bearer: experiments/get', r.status, 200);
    eq('Bearer: another experiment is refused (the token is for one)',
      (await call(base, secret, 'GET', `mlflow/experiments/get?${q({ experiment_id: hidden })}`)).status, 403);
    await page.click('#token-done');
    check('"Done" forgets the secret', !(await page.content()).includes(secret));
    await page.reload({ waitUntil: 'domcontentloaded' });
    await ready(page);
    check('after a reload the secret is nowhere', !(await page.content()).includes(secret) &&
      !(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + location.href)).includes(secret));
    check('the token is still listed', (await page.$$(`#tokens tr[data-token-id="${tokenId}"]`)).length === 1);
  });

  await step('token: revoke', async () => {
    await page.click(`#tokens tr[data-token-id="${tokenId}"] button`);
    await page.waitForSelector(`#tokens tr[data-token-id="${tokenId}"][data-state="revoked"]`, { timeout: WAIT_MS });
    const list = await apiAs(base, ADMIN, 'GET', 'greentrack/tokens/list');
    const t = (list.tokens || []).find((x) => String(x.id) === tokenId);
    check('tokens/list: revoked, no secret', !!t && !!t.revoked && !JSON.stringify(list).includes(secret), JSON.stringify(list));
    eq('a revoked token is refused', (await call(base, secret, 'GET', `mlflow/experiments/get?${q({ experiment_id: exp })}`)).status, 401);
  });

  const userRow = (u) => `#users-table tr[data-username="${u}"]`;
  await step('admin: users', async () => {
    await page.click('#admin-link');
    await page.waitForURL((u) => u.pathname === '/admin', { timeout: WAIT_MS });
    await ready(page);
    const names = await page.$$eval('#users-table tbody tr', (rs) => rs.map((r) => r.dataset.username));
    check('users listed', names.includes(ADMIN.username) && names.includes(READER.username), JSON.stringify(names));
    // create
    await page.fill('#new-user-name', 'writer');
    await page.fill('#new-user-password', 'writer-pw-1');
    await page.click('#new-user-create');
    await page.waitForSelector(userRow('writer'), { timeout: WAIT_MS });
    const w = await apiAs(base, ADMIN, 'GET', `mlflow/users/get?${q({ username: 'writer' })}`);
    check('created: users/get finds it, not an admin', w.user && w.user.username === 'writer' && w.user.is_admin === false, JSON.stringify(w));
    eq('the new user logs in with Basic', (await call(base, { username: 'writer', password: 'writer-pw-1' }, 'GET',
      `mlflow/users/get?${q({ username: 'writer' })}`)).status, 200);
    // admin flag
    const flag = `${userRow('writer')} input[type=checkbox]`;
    let done = page.waitForResponse((r) => r.url().includes('/users/update-admin'));
    await page.check(flag);
    await done;
    await page.waitForSelector(`${flag}:checked`, { timeout: WAIT_MS });
    eq('made an admin', (await apiAs(base, ADMIN, 'GET', `mlflow/users/get?${q({ username: 'writer' })}`)).user.is_admin, true);
    done = page.waitForResponse((r) => r.url().includes('/users/update-admin'));
    await page.uncheck(flag);
    await done;
    await page.waitForSelector(`${flag}:not(:checked)`, { timeout: WAIT_MS });
    eq('and back', (await apiAs(base, ADMIN, 'GET', `mlflow/users/get?${q({ username: 'writer' })}`)).user.is_admin, false);
    check('no admin box for oneself', await page.isDisabled(`${userRow(ADMIN.username)} input[type=checkbox]`));
    // password
    await page.click(`${userRow(READER.username)} button:text("Set password")`);
    await page.fill(`${userRow(READER.username)} input[type=password]`, 'reader-pw-2');
    done = page.waitForResponse((r) => r.url().includes('/users/update-password'));
    await page.click(`${userRow(READER.username)} button:text("Save")`);
    eq('update-password answered', (await done).status(), 200);
    const who = `mlflow/users/get?${q({ username: READER.username })}`;
    eq('the new password works', (await call(base, { ...READER, password: 'reader-pw-2' }, 'GET', who)).status, 200);
    eq('the old one does not', (await call(base, READER, 'GET', who)).status, 401);
    READER.password = 'reader-pw-2';
    // delete (asks twice)
    await page.click(`${userRow('writer')} button.danger`);
    check('delete asks again', (await textOf(page, `${userRow('writer')} button.danger`)) === 'Confirm delete');
    await page.click(`${userRow('writer')} button.danger`);
    await page.waitForSelector(userRow('writer'), { state: 'detached', timeout: WAIT_MS });
    eq('deleted: users/get 404', (await call(base, ADMIN, 'GET', `mlflow/users/get?${q({ username: 'writer' })}`)).status, 404);
    eq('deleted: refused', (await call(base, { username: 'writer', password: 'writer-pw-1' }, 'GET', `mlflow/experiments/get?${q({ experiment_id: exp })}`)).status, 401);
    await page.screenshot({ path: path.join(SHOTS, 'auth-admin.png'), fullPage: true });
  });

  const permRow = (u) => `#perm-table tr[data-username="${u}"]`;
  const permOf = async (u) => {
    const r = await call(base, ADMIN, 'GET', `mlflow/experiments/permissions/get?${q({ experiment_id: exp, username: u })}`);
    return r.status === 200 ? r.body.experiment_permission.permission : r.status;
  };
  await step('admin: experiment permissions', async () => {
    // from the experiment's page
    await page.goto(`${base}/experiments/${exp}`, { waitUntil: 'domcontentloaded' });
    await ready(page);
    await page.click('#permissions-link');
    await page.waitForURL((u) => u.pathname === '/admin', { timeout: WAIT_MS });
    await ready(page);
    await page.waitForSelector('#perm-table', { timeout: WAIT_MS });
    eq('the experiment page links to its permissions', new URL(page.url()).searchParams.get('experiment'), String(exp));
    eq('that experiment chosen', await page.inputValue('#perm-experiment'), String(exp));
    await page.selectOption('#perm-experiment', String(readerExp));
    await page.waitForSelector(`${permRow(READER.username)}[data-permission="MANAGE"]`, { timeout: WAIT_MS });
    check('the creator of an experiment holds MANAGE on it', true);
    eq('the choice is in the URL', new URL(page.url()).searchParams.get('experiment'), String(readerExp));
    await page.selectOption('#perm-experiment', String(exp));
    await page.waitForSelector(`#perm-table:not(:has(${permRow(READER.username)}))`, { timeout: WAIT_MS });
    await page.fill('#grant-user', READER.username);
    await page.selectOption('#grant-permission', 'EDIT');
    await page.click('#grant-submit');
    await page.waitForSelector(`${permRow(READER.username)}[data-permission="EDIT"]`, { timeout: WAIT_MS });
    eq('granted EDIT', await permOf(READER.username), 'EDIT');
    await page.selectOption(`${permRow(READER.username)} select`, 'MANAGE');
    await page.waitForSelector(`${permRow(READER.username)}[data-permission="MANAGE"]`, { timeout: WAIT_MS });
    eq('changed to MANAGE', await permOf(READER.username), 'MANAGE');
    await page.click(`${permRow(READER.username)} button`);
    await page.waitForSelector(permRow(READER.username), { state: 'detached', timeout: WAIT_MS });
    eq('revoked: no row (404)', await permOf(READER.username), 404);
    await page.fill('#grant-user', 'nobody-here');
    await page.click('#grant-submit');
    await page.waitForSelector('#perm-error:not([hidden])', { timeout: WAIT_MS });
    check('granting to an unknown user: the server\'s error', (await textOf(page, '#perm-error')).length > 0);
  });

  await step('a session that ends under an open page', async () => {
    // (as an idle expiry or a password change elsewhere would end it)
    await page.goto(`${base}/experiments`, { waitUntil: 'domcontentloaded' });
    await ready(page);
    await context.clearCookies();
    await page.click('#sections a[data-section=models]');
    await page.waitForURL((u) => u.pathname === '/login', { timeout: WAIT_MS });
    eq('the next call goes to the login page, coming back to /models', new URL(page.url()).searchParams.get('next'), '/models');
    await page.waitForSelector('#account #login-link', { timeout: WAIT_MS });
    check('the header says nobody is logged in', (await page.$$('#whoami, #logout')).length === 0);
    await logIn(page, ADMIN);
    await page.waitForURL((u) => u.pathname === '/models', { timeout: WAIT_MS });
    await ready(page);
    check('logged in again: back on /models', (await page.$$('#logout')).length === 1);
  });

  await step('logout', async () => {
    await page.click('#logout');
    await page.waitForURL((u) => u.pathname === '/login', { timeout: WAIT_MS });
    await page.waitForSelector('#login-form', { timeout: WAIT_MS });
    check('the session cookie is gone', !(await session()));
    check('the header offers "Log in" again', await page.isVisible('#account #login-link'));
    await page.goto(`${base}/admin`, { waitUntil: 'domcontentloaded' });
    await page.waitForURL((u) => u.pathname === '/login', { timeout: WAIT_MS });
    eq('a page needs a login again', new URL(page.url()).searchParams.get('next'), '/admin');
  });

  await step('a READ user is refused', async () => {
    // log in, coming back to a model's page
    await page.goto(`${base}/login?next=${encodeURIComponent('/models/auth-model')}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#login-form', { timeout: WAIT_MS });
    await logIn(page, READER);
    await page.waitForURL((u) => u.pathname === '/models/auth-model', { timeout: WAIT_MS });
    await ready(page);
    check('no Admin link for a non-admin', (await page.$$('#admin-link')).length === 0);
    await page.click('#description-edit');
    await page.fill('#description-input', 'not allowed');
    const saved = page.waitForResponse((r) => r.url().includes('/registered-models/update'));
    await page.click('#description-save');
    eq('an edit: 403', (await saved).status(), 403);
    await page.waitForSelector('#description .filter-error:not([hidden])', { timeout: WAIT_MS });
    check('an edit: the refusal is shown', /Could not save/.test(await textOf(page, '#description .filter-error')));
    // the admin page
    await page.goto(`${base}/admin`, { waitUntil: 'domcontentloaded' });
    await ready(page);
    check('admin page: users refused', await page.isVisible('#users-refused'), await textOf(page, '#users'));
    check('admin page: no user list', (await page.$$('#users-table')).length === 0);
    await page.selectOption('#perm-experiment', String(exp));
    await page.waitForSelector('#perm-refused', { timeout: WAIT_MS });
    check('admin page: an experiment it may only read: permissions refused', true);
    await page.selectOption('#perm-experiment', String(readerExp));
    await page.waitForSelector(`${permRow(READER.username)}[data-permission="MANAGE"]`, { timeout: WAIT_MS });
    check('admin page: its own experiment\'s permissions are shown', (await page.$$('#perm-refused')).length === 0);
    await page.screenshot({ path: path.join(SHOTS, 'auth-refused.png'), fullPage: true });
    // an experiment it may not read
    await page.goto(`${base}/experiments/${hidden}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#refused', { timeout: WAIT_MS });
    check('an experiment with NO_PERMISSIONS: a refused page', /Permission denied/.test(await textOf(page, '#refused')));
    check('no HTML from anything', (await page.evaluate(() => window.__xss)) === undefined);
  });

  await step('throttled logins', async () => {
    // 20 failures of one user in the window (the last 10 delayed), then
    // 429; two at a time (a flood waits for the bounded password checks
    // and can outlast the request timeout on a busy machine)
    const statuses = [];
    for (let i = 0; i < 20; i += 2) {
      const two = await Promise.all([0, 1].map(() =>
        call(base, null, 'POST', 'greentrack/auth/login', { username: 'victim', password: 'guess' })));
      statuses.push(...two.map((t) => t.status));
    }
    eq('20 wrong logins: 401 each', statuses.filter((x) => x !== 401), []);
    await page.goto(`${base}/login`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#login-form', { timeout: WAIT_MS });
    await logIn(page, { username: 'victim', password: 'guess-again' });
    await page.waitForSelector('#login-error:not([hidden])', { timeout: WAIT_MS });
    const msg = await textOf(page, '#login-error');
    check('the next one: "too many", with the wait from Retry-After', /^Too many failed logins\. Try again in \d+ s\.$/.test(msg), msg);
  });

  checkPageClean(watched);

  await step('auth off', async () => {
    const p = await openPage(suite.browser, { viewport: { width: 1280, height: 900 } },
      { timeout: WAIT_MS, origins: [offBase], ignored: (text, url) => /status of 400/.test(text) && url.includes('/greentrack/schedule') });
    const offSeen = watchApi(p.page);
    await p.page.goto(`${offBase}/experiments`, { waitUntil: 'domcontentloaded' });
    await ready(p.page);
    const names = await p.page.$$eval('table.experiments tbody a', (as) => as.map((a) => a.textContent));
    check('auth off: the experiments, no login', names.includes('open-exp') && new URL(p.page.url()).pathname === '/experiments');
    await p.page.waitForFunction(() => document.querySelector('#account').hidden, null, { timeout: WAIT_MS });
    check('auth off: no login, tokens or admin links', (await p.page.$$('#login-link, #tokens-link, #admin-link, #logout')).length === 0);
    await p.page.goto(`${offBase}/experiments/${offExp}`, { waitUntil: 'domcontentloaded' });
    await ready(p.page);
    check('auth off: no permissions link on an experiment', await p.page.isHidden('#permissions-link'));
    await p.page.goto(`${offBase}/login`, { waitUntil: 'domcontentloaded' });
    await ready(p.page);
    check('auth off: the login page says none is needed', await p.page.isVisible('#login-off'));
    await p.page.goto(`${offBase}/tokens`, { waitUntil: 'domcontentloaded' });
    await ready(p.page);
    check('auth off: the tokens page says none are needed', await p.page.isVisible('#tokens-off'));
    const bad = offSeen.requests.filter((r) => r.ui !== '1');
    check('auth off: every API call says X-Greentrack-UI: 1', offSeen.requests.length > 0 && bad.length === 0, JSON.stringify(bad.slice(0, 3)));
    checkPageClean(p, ' (auth off)');
    await p.context.close();
  });

  await step('over TLS: a Secure cookie', async () => {
    const dir = path.join(tmp, 'tls');
    fs.mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', 'srv.key', '-out', 'srv.pem', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { cwd: dir, stdio: 'ignore', timeout: 60000 });
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GREENTRACK_')) env[k] = v;
    Object.assign(env, { GREENTRACK_ADMIN_USERNAME: ADMIN.username, GREENTRACK_ADMIN_PASSWORD: ADMIN.password });
    const web = path.join(buildDir(), 'share', 'greentrack', 'web');
    const tls = startProcess('tls', path.join(buildDir(), 'bin', 'greentrack-server'), ['--port', '0', '--db', dbTarget(dir),
      '--artifact-root', path.join(dir, 'artifacts'), '--web-root', web, '--log-level', 'warn', '--heartbeat-timeout', '0',
      '--auth', '--tls-cert', path.join(dir, 'srv.pem'), '--tls-key', path.join(dir, 'srv.key')],
    { cwd: dir, env, re: /listening on https:\/\/(\S+):(\d+)/, stdin: 'ignore' });
    suite.atEnd(async () => {
      const ex = await stopProcess(tls);
      check('server tls exits cleanly', ex && ex.code === 0, JSON.stringify(ex) + ' ' + tls.stderr.slice(-500));
    });
    const m = await tls.ready;
    const tlsBase = `https://127.0.0.1:${m[2]}`;
    // (the certificate is self-signed: the browser is told to accept it)
    const p = await openPage(suite.browser, { viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true },
      { timeout: WAIT_MS, origins: [tlsBase], ignored: expectedRefusals });
    await p.page.goto(`${tlsBase}/experiments`, { waitUntil: 'domcontentloaded' });
    await p.page.waitForURL((u) => u.pathname === '/login', { timeout: WAIT_MS });
    await p.page.waitForSelector('#login-form', { timeout: WAIT_MS });
    await logIn(p.page, ADMIN);
    await p.page.waitForURL((u) => u.pathname === '/experiments', { timeout: WAIT_MS });
    await ready(p.page);
    const c = (await p.context.cookies(tlsBase)).find((x) => x.name === 'gt_session');
    check('TLS: logged in, the cookie Secure, HttpOnly, SameSite=Strict', !!c && c.secure === true && c.httpOnly === true &&
      c.sameSite === 'Strict', JSON.stringify(c));
    check('TLS: the header names the user', (await textOf(p.page, '#whoami')).includes(ADMIN.username));
    checkPageClean(p, ' (TLS)');
    await p.context.close();
  });
});
