// SPDX-License-Identifier: MIT
// Who is using the UI: the server's whoami answer, asked once and again
// after a login, a logout or a 401 ({ auth_enabled, user, auth_method };
// user is {username, is_admin} or null). The header (main.js) and the
// admin and tokens pages read it; subscribers hear every change.
import * as api from './api.js';

let state = null;
let pending = null;
const listeners = new Set();

function set(s) {
  state = s;
  for (const fn of listeners) {
    try { fn(state); } catch (e) { console.error(e); }
  }
  return state;
}

// The session as last known, asking the server the first time.
export function current() {
  if (state) return Promise.resolve(state);
  return refresh();
}

// Asks the server again (one question at a time).
export function refresh() {
  if (!pending) {
    pending = api.whoami()
      .then(set)
      .catch((e) => { console.error(e); return set({ auth_enabled: false, user: null, auth_method: 'none', error: String(e.message || e) }); })
      .finally(() => { pending = null; });
  }
  return pending;
}

// Nobody is logged in any more (a 401 or a logout): known without asking.
export function signedOut() {
  if (state && state.auth_enabled && !state.user) return;
  set({ auth_enabled: true, user: null, auth_method: 'none' });
}

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// A path inside the UI that is safe to go back to after the login
// ('/experiments' when 'next' is missing, points elsewhere or is the
// login page itself).
export function safeNext(next) {
  const n = String(next || '');
  if (!n.startsWith('/') || n.startsWith('//') || n.startsWith('/\\') || /^\/login(?:[/?#]|$)/.test(n) ||
      n.startsWith('/api/')) return '/experiments';
  return n;
}
