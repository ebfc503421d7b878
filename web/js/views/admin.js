// SPDX-License-Identifier: MIT
// /admin?experiment=<id>: users and experiment permissions. Users (admins
// only; the server refuses others with 403, shown as such): the list from
// greentrack's users/list, create, the admin flag, a new password and
// delete, through MLflow's users/* calls. Experiment permissions (anyone
// who may MANAGE the experiment): who holds which permission, from
// greentrack's experiments/permissions/list, and grant, change and revoke
// through MLflow's experiments/permissions/* calls. Every text from the
// server goes in through textContent.
import * as api from '../api.js';
import { h } from '../fmt.js';

export const name = 'admin';
export const PERMISSIONS = ['READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'];

function showError(el, msg) {
  el.textContent = msg;
  el.hidden = !msg;
}

// A button that asks again before doing 'fn' (a second click within 4 s).
function confirmButton(label, confirmLabel, attrs, fn) {
  let armed = null;
  const b = h('button.ghost.small.danger', { type: 'button', text: label, ...attrs });
  b.addEventListener('click', async () => {
    if (!armed) {
      b.textContent = confirmLabel;
      armed = setTimeout(() => { armed = null; b.textContent = label; }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    b.disabled = true;
    try { await fn(); } finally { b.disabled = false; b.textContent = label; }
  });
  return b;
}

const permSelect = (value, attrs = {}) => h('select', attrs,
  ...PERMISSIONS.map((p) => h('option', { value: p, text: p, selected: p === value ? true : null })));

export async function mount(root, ctx) {
  ctx.crumbs([{ text: 'Admin' }]);
  const s = await ctx.session.current();
  if (!s.auth_enabled) {
    root.append(h('div.card#admin-off', {}, h('h1', { text: 'Admin' }),
      h('p', { text: 'This server runs without authentication: there are no users or permissions to manage.' })));
    ctx.ready();
    return null;
  }
  let disposed = false;
  const me = s.user ? s.user.username : '';
  let users = [];
  const userNames = h('datalist#user-names');

  // ---- users
  const usersBox = h('div#users-body');
  const usersErr = h('div.filter-error#users-error', { role: 'alert', hidden: true });
  const usersCard = h('section.card#users', { 'aria-label': 'Users' }, h('h2', { text: 'Users' }), usersErr, usersBox);

  async function userCall(call) {
    showError(usersErr, '');
    try {
      await call();
      await loadUsers();
      return true;
    } catch (e) {
      if (!disposed) showError(usersErr, e.message);
      return false;
    }
  }

  function renderUsers() {
    const tbody = h('tbody');
    for (const u of users) {
      const admin = h('input', { type: 'checkbox', checked: !!u.is_admin, 'aria-label': `${u.username} is an admin`, disabled: u.username === me ? true : null });
      admin.addEventListener('change', () => userCall(() => api.updateAdmin(u.username, admin.checked, { signal: ctx.signal })));
      const pwCell = h('td.pwcell');
      const setPw = h('button.ghost.small', { type: 'button', text: 'Set password', 'aria-label': `Set the password of ${u.username}` });
      setPw.addEventListener('click', () => {
        const pw = h('input', { type: 'password', autocomplete: 'new-password', 'aria-label': `New password for ${u.username}`, required: true });
        pwCell.replaceChildren(h('form.inline-form', {
          onsubmit: async (ev) => {
            ev.preventDefault();
            if (!pw.value) return;
            await userCall(() => api.updatePassword(u.username, pw.value, { signal: ctx.signal }));
          },
        }, pw, h('button.small', { type: 'submit', text: 'Save' }),
        h('button.ghost.small', { type: 'button', text: 'Cancel', onclick: () => renderUsers() })));
        pw.focus();
      });
      pwCell.append(setPw);
      tbody.append(h('tr', { dataset: { username: u.username } },
        h('td.username', {}, h('span', { text: u.username }), u.username === me ? h('span.muted', { text: ' (you)' }) : null),
        h('td', {}, h('label.inline', {}, admin, 'admin')),
        pwCell,
        h('td', {}, h('a', { href: `/tokens?${new URLSearchParams({ username: u.username })}`, text: 'Tokens', 'aria-label': `Tokens of ${u.username}` })),
        h('td.actions', {}, u.username === me ? null
          : confirmButton('Delete', 'Confirm delete', { 'aria-label': `Delete user ${u.username}` },
            () => userCall(() => api.deleteUser(u.username, { signal: ctx.signal }))))));
    }
    if (!users.length) tbody.append(h('tr', {}, h('td.empty', { colspan: '5', text: 'No users.' })));
    const nameIn = h('input#new-user-name', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-label': 'New user name', placeholder: 'username' });
    const pwIn = h('input#new-user-password', { type: 'password', required: true, autocomplete: 'new-password', 'aria-label': 'New user password', placeholder: 'password' });
    const adminIn = h('input#new-user-admin', { type: 'checkbox' });
    const add = h('button#new-user-create', { type: 'submit', text: 'Create user' });
    usersBox.replaceChildren(
      h('div.tablewrap', {}, h('table.grid.users#users-table', {},
        h('thead', {}, h('tr', {}, h('th', { text: 'User' }), h('th', { text: 'Role' }), h('th', { text: 'Password' }), h('th', { text: 'Tokens' }), h('th', { text: '' }))),
        tbody)),
      h('form.tagform#new-user', {
        onsubmit: async (ev) => {
          ev.preventDefault();
          const n = nameIn.value.trim();
          if (!n || !pwIn.value) { showError(usersErr, 'A new user needs a name and a password.'); return; }
          add.disabled = true;
          await userCall(async () => {
            await api.createUser(n, pwIn.value, { signal: ctx.signal });
            if (adminIn.checked) await api.updateAdmin(n, true, { signal: ctx.signal });
          });
          add.disabled = false;
        },
      }, nameIn, pwIn, h('label.inline', {}, adminIn, 'admin'), add));
  }

  async function loadUsers() {
    try {
      const r = await api.listUsers({ signal: ctx.signal });
      if (disposed) return;
      users = (r.users || []).slice().sort((a, b) => a.username.localeCompare(b.username));
      userNames.replaceChildren(...users.map((u) => h('option', { value: u.username })));
      renderUsers();
    } catch (e) {
      if (e.status !== 403) throw e;
      usersCard.dataset.refused = '1';
      usersBox.replaceChildren(h('div.error.refused#users-refused', { role: 'alert' },
        h('strong', { text: 'Permission denied. ' }), api.deniedDetail(e.message),
        h('p', { text: 'Only administrators manage users.' })));
    }
  }

  // ---- experiment permissions
  const expSel = h('select#perm-experiment', { 'aria-label': 'Experiment' }, h('option', { value: '', text: 'Choose an experiment…' }));
  const permBox = h('div#perm-body');
  const permErr = h('div.filter-error#perm-error', { role: 'alert', hidden: true });
  const permCard = h('section.card#permissions', { 'aria-label': 'Experiment permissions' },
    h('div.toolbar', {}, h('h2', { text: 'Experiment permissions' }), expSel),
    h('p.muted.small', { text: 'Users without a row here get the server’s default permission (--auth-default-permission). Whoever creates an experiment may MANAGE it.' }),
    permErr, permBox);

  async function permCall(call) {
    showError(permErr, '');
    try {
      await call();
      await loadPermissions();
    } catch (e) {
      if (!disposed) showError(permErr, e.message);
    }
  }

  function renderPermissions(exp, rows) {
    const tbody = h('tbody');
    for (const p of rows) {
      const sel = permSelect(p.permission, { 'aria-label': `Permission of ${p.username}` });
      sel.addEventListener('change', () => permCall(() => api.updatePermission(exp, p.username, sel.value, { signal: ctx.signal })));
      tbody.append(h('tr', { dataset: { username: p.username, permission: p.permission } },
        h('td', { text: p.username }), h('td', {}, sel),
        h('td.actions', {}, h('button.ghost.small.danger', {
          type: 'button', text: 'Revoke', 'aria-label': `Revoke the permission of ${p.username}`,
          onclick: () => permCall(() => api.deletePermission(exp, p.username, { signal: ctx.signal })),
        }))));
    }
    if (!rows.length) tbody.append(h('tr', {}, h('td.empty', { colspan: '3', text: 'No explicit permissions.' })));
    const who = h('input#grant-user', { type: 'text', required: true, list: 'user-names', autocomplete: 'off', spellcheck: 'false', 'aria-label': 'User to grant', placeholder: 'username' });
    const what = permSelect('READ', { id: 'grant-permission', 'aria-label': 'Permission to grant' });
    permBox.replaceChildren(
      h('div.tablewrap', {}, h('table.grid.perms#perm-table', {},
        h('thead', {}, h('tr', {}, h('th', { text: 'User' }), h('th', { text: 'Permission' }), h('th', { text: '' }))), tbody)),
      h('form.tagform#grant', {
        onsubmit: (ev) => {
          ev.preventDefault();
          const u = who.value.trim();
          if (!u) { showError(permErr, 'Name the user to grant a permission to.'); return; }
          const existing = rows.find((r) => r.username === u);
          permCall(() => existing ? api.updatePermission(exp, u, what.value, { signal: ctx.signal })
            : api.createPermission(exp, u, what.value, { signal: ctx.signal }));
        },
      }, who, what, h('button#grant-submit', { type: 'submit', text: 'Grant' })));
  }

  async function loadPermissions() {
    const exp = expSel.value;
    delete permCard.dataset.refused;
    if (!exp) {
      permBox.replaceChildren(h('p.muted', { text: 'Choose an experiment to see who may read, edit or manage it.' }));
      return;
    }
    try {
      const r = await api.listPermissions(exp, { signal: ctx.signal });
      if (disposed || expSel.value !== exp) return;
      const rows = (r.permissions || []).slice().sort((a, b) => a.username.localeCompare(b.username));
      renderPermissions(exp, rows);
    } catch (e) {
      if (e.status !== 403) throw e;
      permCard.dataset.refused = '1';
      permBox.replaceChildren(h('div.error.refused#perm-refused', { role: 'alert' },
        h('strong', { text: 'Permission denied. ' }), api.deniedDetail(e.message),
        h('p', { text: 'Only administrators and those who may MANAGE this experiment see and change its permissions.' })));
    }
  }
  expSel.addEventListener('change', () => {
    ctx.setQuery({ experiment: expSel.value });
    showError(permErr, '');
    loadPermissions().catch((e) => { if (!disposed) showError(permErr, e.message); });
  });

  root.append(h('div.toolbar', {}, h('h1', { text: 'Admin' })), usersCard, permCard, userNames);

  const summary = await api.experimentSummary({ signal: ctx.signal }).catch((e) => {
    if (e.status === 401) throw e;
    return { experiments: [] };
  });
  const exps = (summary.experiments || []).slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
  expSel.append(...exps.map((e) => h('option', { value: String(e.experiment_id), text: `${e.name} (#${e.experiment_id})` })));
  const wanted = ctx.query.get('experiment') || '';
  if (wanted && !exps.some((e) => String(e.experiment_id) === wanted)) {
    expSel.append(h('option', { value: wanted, text: `#${wanted}` }));
  }
  expSel.value = wanted;
  await Promise.all([loadUsers(), loadPermissions()]);
  ctx.ready();
  return () => { disposed = true; };
}
