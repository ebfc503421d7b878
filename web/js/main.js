// SPDX-License-Identifier: MIT
// The router: the URL path picks a view, the query holds its state. Views
// are modules with mount(root, ctx) returning a dispose function; they
// update their own query with ctx.setQuery (no remount), and links inside
// the app navigate without reloading. With auth on (whoami, session.js)
// the header shows who is logged in with the tokens, admin and logout
// controls, and any 401 leads to the login page, which comes back after.
import * as api from './api.js';
import { h } from './fmt.js';
import * as session from './session.js';

const routes = [
  [/^\/(?:experiments\/?)?$/, () => import('./views/experiments.js'), [], 'experiments'],
  [/^\/experiments\/([^/]+)\/?$/, () => import('./views/leaderboard.js'), ['id'], 'experiments'],
  [/^\/experiments\/([^/]+)\/report\/?$/, () => import('./views/report.js'), ['id'], 'experiments'],
  [/^\/runs\/([0-9a-f]{32})\/?$/i, () => import('./views/run.js'), ['id'], 'experiments'],
  [/^\/compare\/?$/, () => import('./views/compare.js'), [], 'experiments'],
  // (a model's name is one path segment, '/' and all encoded)
  [/^\/models\/?$/, () => import('./views/models.js'), [], 'models'],
  [/^\/models\/([^/]+)\/?$/, () => import('./views/model.js'), ['name'], 'models'],
  [/^\/login\/?$/, () => import('./views/login.js'), [], 'login'],
  [/^\/tokens\/?$/, () => import('./views/tokens.js'), [], 'tokens'],
  [/^\/admin\/?$/, () => import('./views/admin.js'), [], 'admin'],
];

const app = document.getElementById('app');
const crumbs = document.getElementById('crumbs');
const sections = document.getElementById('sections');
const live = document.getElementById('live');
const account = document.getElementById('account');
let current = null; // { dispose, ctrl }
let seq = 0;

// A path segment as text (a malformed escape stays as it is).
function decode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

// The header's section links: the current one is marked.
function setSection(name) {
  for (const a of document.querySelectorAll('header a[data-section]')) {
    if (a.dataset.section === name) a.setAttribute('aria-current', 'true');
    else a.removeAttribute('aria-current');
  }
}

function setCrumbs(items) {
  crumbs.replaceChildren(...items.flatMap((it, i) => {
    const el = it.href ? h('a', { href: it.href, text: it.text }) : h('span', { text: it.text, 'aria-current': 'page' });
    return i ? [h('span.sep', { 'aria-hidden': 'true', text: '›' }), el] : [el];
  }));
  document.title = items.length ? items[items.length - 1].text + ' · greentrack' : 'greentrack';
}

export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  dispatch();
}

function setQuery(obj, { replace = true } = {}) {
  const u = new URL(location.href);
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null || v === '' || v === false) u.searchParams.delete(k);
    else u.searchParams.set(k, String(v));
  }
  const href = u.pathname + u.search;
  if (href === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
}

async function dispatch() {
  const my = ++seq;
  if (current) {
    current.ctrl.abort();
    try { current.dispose && current.dispose(); } catch (e) { console.error(e); }
    current = null;
  }
  live.hidden = true;
  const path = location.pathname;
  if (path === '/' || path === '') { history.replaceState(null, '', '/experiments' + location.search); }
  let found = null;
  for (const [re, load, names, section] of routes) {
    const m = re.exec(location.pathname);
    if (m) { found = { load, section, params: Object.fromEntries(names.map((n, i) => [n, decode(m[i + 1])])) }; break; }
  }
  setSection(found ? found.section : null);
  document.body.dataset.section = found ? found.section : '';
  const loginLink = document.getElementById('login-link');
  if (loginLink) loginLink.setAttribute('href', loginHref());
  const ctrl = new AbortController();
  current = { ctrl, dispose: null };
  app.removeAttribute('data-ready');
  app.removeAttribute('data-ready-at');
  if (!found) {
    setCrumbs([{ text: 'Experiments', href: '/experiments' }, { text: 'Not found' }]);
    app.replaceChildren(h('div.empty', {}, h('h1', { text: 'Page not found' }),
      h('p', {}, 'Nothing lives at ', h('code', { text: location.pathname }), '. ', h('a', { href: '/experiments', text: 'All experiments' }))));
    return;
  }
  const mod = await found.load();
  if (my !== seq) return;
  document.body.dataset.view = mod.name || '';
  const ctx = {
    params: found.params,
    query: new URLSearchParams(location.search),
    signal: ctrl.signal,
    setQuery,
    navigate,
    session,
    refused,
    crumbs: setCrumbs,
    live: (on) => { live.hidden = !on; },
    // data-ready marks a usable view; data-ready-at is ms since navigation
    // (the browser tests read both).
    ready: () => {
      if (my !== seq) return;
      app.dataset.readyAt = String(Math.round(performance.now()));
      app.dataset.ready = '1';
    },
  };
  app.replaceChildren();
  try {
    current.dispose = await mod.mount(app, ctx);
  } catch (e) {
    if (ctrl.signal.aborted || my !== seq) return;
    if (e instanceof api.ApiError && e.status === 401) return; // on its way to the login page
    if (e instanceof api.ApiError && e.status === 403) {
      app.replaceChildren(refused(e.message));
      return;
    }
    console.error(e);
    app.replaceChildren(h('div.error', { role: 'alert' }, h('strong', { text: 'Could not load this page: ' }), String(e.message || e)));
  }
}

// A page the server refused (403).
function refused(message) {
  return h('div.error.refused#refused', { role: 'alert' },
    h('strong', { text: 'Permission denied. ' }), api.deniedDetail(message),
    h('p', { text: 'Ask an administrator, or whoever manages the experiment, for access.' }));
}

// The login page, coming back to this one.
function loginHref() {
  if (/^\/login\/?$/.test(location.pathname)) return '/login' + location.search;
  return '/login?next=' + encodeURIComponent(location.pathname + location.search);
}

// The header's account controls: hidden with auth off; "Log in" when
// nobody is; else the user, Tokens, Admin (admins) and Log out.
function renderAccount(s) {
  if (!s || !s.auth_enabled) {
    account.hidden = true;
    account.replaceChildren();
    return;
  }
  account.hidden = false;
  if (!s.user) {
    account.replaceChildren(h('a#login-link', { href: loginHref(), 'data-section': 'login', text: 'Log in' }));
  } else {
    const out = h('button.ghost.small#logout', {
      type: 'button', text: 'Log out',
      onclick: async () => {
        out.disabled = true;
        try { await api.logout(); } catch (e) { console.error(e); }
        session.signedOut();
        navigate('/login');
        out.disabled = false;
      },
    });
    account.replaceChildren(...[
      h('span#whoami', { title: `Logged in (${s.auth_method})` },
        h('span.user', { text: s.user.username }), s.user.is_admin ? h('span.badge', { text: 'admin' }) : null),
      h('a#tokens-link', { href: '/tokens', 'data-section': 'tokens', text: 'Tokens' }),
      s.user.is_admin ? h('a#admin-link', { href: '/admin', 'data-section': 'admin', text: 'Admin' }) : null,
      out].filter(Boolean));
  }
  setSection(document.body.dataset.section || null);
}
session.subscribe(renderAccount);

// A 401 anywhere: nobody is logged in; the login page, coming back here.
api.onUnauthenticated(() => {
  session.signedOut();
  if (location.pathname === '/login' || location.pathname === '/login/') return;
  navigate(loginHref(), { replace: true });
});

// Same-origin links navigate inside the app (new tab / modified clicks, the
// API and downloads are left alone).
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest && ev.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || u.pathname.startsWith('/api/')) return;
  ev.preventDefault();
  if (u.pathname + u.search !== location.pathname + location.search) navigate(u.pathname + u.search);
});

window.addEventListener('popstate', dispatch);

// Charts take their colours from the theme: redraw when the system's
// light/dark preference changes.
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => dispatch());

session.refresh();
dispatch();
