// SPDX-License-Identifier: MIT
// /tokens: the caller's API tokens. A form creates one (name, expiry in
// days, a permission ceiling, one experiment or all); the secret comes
// back once, from tokens/create, and is shown once with a copy button,
// then forgotten (it is in no list and no URL). The list shows each
// token's dates, ceiling and state with a revoke button. A card changes
// the caller's password (which ends every session and token of theirs:
// the login page follows). /tokens?username=x: an admin's view of x's
// tokens (list and revoke only). Every text from the server goes in
// through textContent.
import * as api from '../api.js';
import { h, time, ago } from '../fmt.js';

export const name = 'tokens';
const CEILINGS = ['READ', 'EDIT', 'MANAGE'];

// A timestamp as the API gives it (ms, or an ISO text) -> ms or null.
function ms(v) {
  if (v === null || v === undefined || v === '' || v === 0) return null;
  const n = typeof v === 'number' ? v : (/^\d+$/.test(String(v)) ? Number(v) : Date.parse(v));
  return Number.isFinite(n) ? n : null;
}

export function tokenState(t, now = Date.now()) {
  if (t.revoked) return 'revoked';
  const exp = ms(t.expires);
  if (exp !== null && exp <= now) return 'expired';
  return 'active';
}

// Copies 'text' to the clipboard; true when it worked.
async function copyText(text, fallbackEl) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no clipboard API (an insecure origin): select the text for Ctrl+C
    const r = document.createRange();
    r.selectNodeContents(fallbackEl);
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(r);
    return false;
  }
}

export async function mount(root, ctx) {
  ctx.crumbs([{ text: 'API tokens' }]);
  const s = await ctx.session.current();
  if (!s.auth_enabled) {
    root.append(h('div.card#tokens-off', {}, h('h1', { text: 'API tokens' }),
      h('p', { text: 'This server runs without authentication, so clients need no token.' })));
    ctx.ready();
    return null;
  }
  let disposed = false;
  const me = s.user ? s.user.username : '';
  const other = ctx.query.get('username') || '';
  const whose = other && other !== me ? other : '';
  if (whose) ctx.crumbs([{ text: 'Admin', href: '/admin' }, { text: `Tokens of ${whose}` }]);

  // ---- the create form
  const nameIn = h('input#token-name', { type: 'text', required: true, maxlength: '200', autocomplete: 'off', placeholder: 'e.g. ci-nightly' });
  const daysIn = h('input#token-days', { type: 'number', min: '1', max: '3650', step: '1', placeholder: 'never' });
  const ceilingIn = h('select#token-ceiling', {},
    h('option', { value: '', text: 'My own permissions' }),
    ...CEILINGS.map((c) => h('option', { value: c, text: c })));
  const expIn = h('select#token-experiment', {}, h('option', { value: '', text: 'Every experiment' }));
  const createErr = h('div.filter-error#token-error', { role: 'alert', hidden: true });
  const createBtn = h('button#token-create', { type: 'submit', text: 'Create token' });
  const secretBox = h('div.secret-box#token-secret', { hidden: true, role: 'status' });
  const form = h('form.stack#token-form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      createErr.hidden = true;
      const spec = { name: nameIn.value.trim() };
      if (!spec.name) { showError(createErr, 'A token needs a name.'); return; }
      if (daysIn.value !== '') {
        const d = Number(daysIn.value);
        if (!Number.isInteger(d) || d < 1) { showError(createErr, 'Expiry: a whole number of days, 1 or more (empty: never).'); return; }
        spec.expires_in_days = d;
      }
      if (ceilingIn.value) spec.permission_ceiling = ceilingIn.value;
      if (expIn.value) spec.experiment_id = expIn.value;
      createBtn.disabled = true;
      try {
        const r = await api.createToken(spec, { signal: ctx.signal });
        if (disposed) return;
        showSecret(r.token || {}, r.secret || '');
        nameIn.value = '';
        daysIn.value = '';
        await load();
      } catch (e) {
        if (!disposed) showError(createErr, `Could not create the token: ${e.message}`);
      } finally {
        createBtn.disabled = false;
      }
    },
  },
  h('div.fields', {},
    h('label', {}, h('span', { text: 'Name' }), nameIn),
    h('label', {}, h('span', { text: 'Expires after (days)' }), daysIn),
    h('label', {}, h('span', { text: 'Permission ceiling' }), ceilingIn),
    h('label', {}, h('span', { text: 'Experiment' }), expIn)),
  h('div.actions', {}, createBtn),
  createErr);

  // The secret, once: kept only in this element until "Done".
  function showSecret(token, secret) {
    const value = h('code.secret#token-secret-value', { text: secret });
    const status = h('span.muted.small#token-copy-status', { 'aria-live': 'polite' });
    const copy = h('button#token-copy', {
      type: 'button', text: 'Copy',
      onclick: async () => {
        const ok = await copyText(secret, value);
        status.textContent = ok ? 'Copied.' : 'Selected: press Ctrl+C to copy.';
      },
    });
    const done = h('button.ghost#token-done', {
      type: 'button', text: 'Done',
      onclick: () => { secretBox.replaceChildren(); secretBox.hidden = true; },
    });
    secretBox.replaceChildren(
      h('p', {}, h('strong', { text: `Token “${token.name || ''}” created. ` }),
        'Copy its secret now: it is shown only this once and cannot be read again.'),
      h('div.secret-line', {}, value, copy, done, status),
      h('p.muted.small', {}, 'Use it as ', h('code', { text: 'MLFLOW_TRACKING_TOKEN' }), ' (MLflow clients send it as ',
        h('code', { text: 'Authorization: Bearer' }), ') or ', h('code', { text: 'GREENTRACK_TRACKING_TOKEN' }), '.'));
    secretBox.hidden = false;
  }

  // ---- the list
  const tbody = h('tbody');
  const listErr = h('div.filter-error#tokens-error', { role: 'alert', hidden: true });
  const count = h('span.muted#tokens-count');
  const table = h('table.grid#tokens', {},
    h('thead', {}, h('tr', {}, ...['Name', 'Created', 'Expires', 'Last used', 'Ceiling', 'Experiment', 'State', '']
      .map((t) => h('th', { text: t })))),
    tbody);
  let experiments = new Map();

  async function revoke(t, btn) {
    btn.disabled = true;
    listErr.hidden = true;
    try {
      await api.revokeToken(t.id, { signal: ctx.signal });
      await load();
    } catch (e) {
      if (disposed) return;
      btn.disabled = false;
      showError(listErr, `Could not revoke “${t.name}”: ${e.message}`);
    }
  }

  function render(tokens) {
    const now = Date.now();
    const rows = tokens.slice().sort((a, b) => (ms(b.created) || 0) - (ms(a.created) || 0));
    count.textContent = `${rows.filter((t) => tokenState(t, now) === 'active').length} active of ${rows.length}`;
    tbody.replaceChildren(...rows.map((t) => {
      const st = tokenState(t, now);
      const exp = t.experiment_id ? (experiments.get(String(t.experiment_id)) || `#${t.experiment_id}`) : 'all';
      const btn = h('button.ghost.small.danger', { type: 'button', text: 'Revoke', 'aria-label': `Revoke token ${t.name}` });
      btn.addEventListener('click', () => revoke(t, btn));
      return h('tr', { dataset: { tokenId: String(t.id), state: st } },
        h('td.token-name', { text: t.name || '' }),
        h('td', { text: time(ms(t.created)) }),
        h('td', { text: ms(t.expires) ? time(ms(t.expires)) : 'never' }),
        h('td', { text: ms(t.last_used) ? ago(ms(t.last_used)) : 'never', title: ms(t.last_used) ? time(ms(t.last_used)) : null }),
        h('td', { text: t.permission_ceiling || 'user’s own' }),
        h('td', { text: exp }),
        h('td', {}, h('span.badge.token-' + st, { text: st })),
        h('td.actions', {}, st === 'active' ? btn : null));
    }));
    if (!rows.length) tbody.append(h('tr', {}, h('td.empty', { colspan: '8', text: 'No tokens yet.' })));
  }

  async function load() {
    const r = await api.listTokens(whose || undefined, { signal: ctx.signal });
    if (!disposed) render(r.tokens || []);
  }

  // ---- the caller's password
  const pw1 = h('input#password-new', { type: 'password', autocomplete: 'new-password', required: true });
  const pw2 = h('input#password-again', { type: 'password', autocomplete: 'new-password', required: true });
  const pwErr = h('div.filter-error#password-error', { role: 'alert', hidden: true });
  const pwBtn = h('button#password-save', { type: 'submit', text: 'Change password' });
  const pwForm = h('form.stack#password-form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      pwErr.hidden = true;
      if (!pw1.value) { showError(pwErr, 'Enter the new password.'); return; }
      if (pw1.value !== pw2.value) { showError(pwErr, 'The two passwords differ.'); return; }
      pwBtn.disabled = true;
      try {
        await api.updatePassword(me, pw1.value, { signal: ctx.signal });
        pw1.value = '';
        pw2.value = '';
        // the change ended this session too
        ctx.session.signedOut();
        ctx.navigate('/login?changed=1&next=' + encodeURIComponent('/tokens'));
      } catch (e) {
        if (disposed) return;
        pwBtn.disabled = false;
        showError(pwErr, `Could not change the password: ${e.message}`);
      }
    },
  },
  h('div.fields', {},
    h('label', {}, h('span', { text: 'New password' }), pw1),
    h('label', {}, h('span', { text: 'Again' }), pw2)),
  h('div.actions', {}, pwBtn),
  pwErr);

  if (whose) {
    root.append(
      h('div.toolbar', {}, h('h1', { text: 'API tokens' }), h('span.muted', { text: `of ${whose}` })),
      h('section.card', { 'aria-label': `Tokens of ${whose}` }, h('div.toolbar', {}, h('h2', { text: 'Tokens' }), count), listErr,
        h('div.tablewrap', {}, table)));
  } else {
    root.append(
      h('div.toolbar', {}, h('h1', { text: 'API tokens' }), h('span.muted', { text: `for ${me || 'you'}` })),
      h('section.card', { 'aria-label': 'New token' }, h('h2', { text: 'New token' }),
        h('p.muted.small', { text: 'A token acts as you, capped by its ceiling and, when one is chosen, limited to one experiment: give a CI job a token that can only log runs to its experiment.' }),
        form, secretBox),
      h('section.card', { 'aria-label': 'Your tokens' }, h('div.toolbar', {}, h('h2', { text: 'Your tokens' }), count), listErr,
        h('div.tablewrap', {}, table)),
      h('section.card', { 'aria-label': 'Your password' }, h('h2', { text: 'Your password' }),
        h('p.muted.small', { text: 'Changing it logs you out everywhere and revokes your tokens.' }), pwForm));
  }

  // experiments for the form (those the user can read) and the list's names
  try {
    const r = await api.experimentSummary({ signal: ctx.signal });
    const list = (r.experiments || []).slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
    experiments = new Map(list.map((e) => [String(e.experiment_id), e.name]));
    expIn.append(...list.map((e) => h('option', { value: String(e.experiment_id), text: `${e.name} (#${e.experiment_id})` })));
  } catch (e) {
    if (e.status === 401) throw e;
    // the form still works for every experiment
  }
  await load();
  ctx.ready();
  return () => { disposed = true; };
}

function showError(el, msg) {
  el.textContent = msg;
  el.hidden = false;
}
