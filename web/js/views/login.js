// SPDX-License-Identifier: MIT
// /login?next=<path>: the login form. auth/login sets the session cookie
// (HttpOnly, so this page never sees it); on success the page goes back to
// 'next' (a path of the UI only, session.safeNext). A wrong password and
// the throttle's 429 (with its Retry-After) are shown under the form. With
// auth off the page only says so.
import * as api from '../api.js';
import { h } from '../fmt.js';

export const name = 'login';

export async function mount(root, ctx) {
  ctx.crumbs([{ text: 'Log in' }]);
  const next = ctx.session.safeNext(ctx.query.get('next'));
  const s = await ctx.session.refresh();
  if (!s.auth_enabled) {
    root.append(h('div.card.login-card#login-off', {},
      h('h1', { text: 'No login needed' }),
      h('p', { text: 'This server runs without authentication: everyone who can reach it uses it.' }),
      h('p', {}, h('a', { href: next, text: 'Continue' }))));
    ctx.ready();
    return null;
  }
  const user = h('input#login-username', {
    type: 'text', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false',
  });
  const pass = h('input#login-password', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const err = h('div.filter-error#login-error', { role: 'alert', hidden: true });
  const submit = h('button#login-submit', { type: 'submit', text: 'Log in' });
  const changed = ctx.query.get('changed') === '1'
    ? h('p.notice#login-changed', { role: 'status', text: 'Your password was changed: log in with the new one.' })
    : null;
  const signedIn = s.user
    ? h('p.muted#login-current', {}, 'Logged in as ', h('strong', { text: s.user.username }), '. ',
      h('a', { href: next, text: 'Continue' }), ' or log in as someone else.')
    : null;
  const form = h('form.login#login-form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      err.hidden = true;
      if (!user.value || !pass.value) {
        err.textContent = 'Enter a username and a password.';
        err.hidden = false;
        return;
      }
      submit.disabled = true;
      try {
        await api.login(user.value, pass.value, { signal: ctx.signal });
        pass.value = '';
        await ctx.session.refresh();
        ctx.navigate(next, { replace: true });
      } catch (e) {
        if (ctx.signal.aborted) return;
        submit.disabled = false;
        pass.value = '';
        if (e.status === 401) err.textContent = 'Wrong username or password.';
        else if (e.status === 429) {
          err.textContent = 'Too many failed logins. Try again ' +
            (e.retryAfter ? `in ${e.retryAfter} s.` : 'later.');
        } else err.textContent = `Could not log in: ${e.message}`;
        err.hidden = false;
        pass.focus();
      }
    },
  },
  h('label', {}, h('span', { text: 'Username' }), user),
  h('label', {}, h('span', { text: 'Password' }), pass),
  h('div.actions', {}, submit),
  err);
  root.append(h('div.card.login-card', {}, h('h1', { text: 'Log in to greentrack' }), changed, signedIn, form,
    h('p.muted.small', { text: 'Scripts and clients log in with a token (Tokens page, or greentrack login) or with MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.' })));
  user.focus();
  ctx.ready();
  return null;
}
