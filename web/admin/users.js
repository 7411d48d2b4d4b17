// Users: search by email prefix (paged), and one user's page: roles,
// dates, verification, MFA state when the API reports it, live sessions,
// and the admin actions on them.
import { api, enc, get, withQuery } from './api.js';
import { act, button, confirmAction, field, h, mount, table, time } from './ui.js';

const PAGE = 25;

export async function render(main, r) {
  if (r.parts[0]) return detail(main, r.parts[0], r.query.get('session'));
  return list(main, r.query);
}

async function list(main, query) {
  const q = query.get('q') ?? '';
  const after = query.get('after') ?? '';
  const page = await get(withQuery('/v1/admin/users', { q, after, limit: PAGE }));
  const search = h('input', { type: 'search', name: 'q', id: 'user-search', value: q, placeholder: 'ada@', autocomplete: 'off' });
  const form = h('form', { class: 'inline', role: 'search' },
    field('Email starts with', search),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/users${search.value ? `?q=${enc(search.value.trim())}` : ''}`;
  });
  const rows = page.users.map((u) =>
    h('tr', { 'data-user': u.id },
      h('td', {}, h('a', { href: `#/users/${enc(u.id)}` }, u.email)),
      h('td', {}, u.roles.join(', ') || '—'),
      h('td', {}, u.email_verified ? 'yes' : 'no'),
      h('td', { class: 'mfa' }, mfaState(u) ?? '—'),
      h('td', {}, u.disabled ? h('span', { class: 'tag bad' }, 'disabled') : 'active'),
      h('td', {}, time(u.created_at)),
      h('td', {}, time(u.last_login_at))));
  mount(main,
    h('h1', {}, 'Users'),
    form,
    table(['Email', 'Roles', 'Verified', 'MFA', 'State', 'Created', 'Last login'], rows, { id: 'users' }),
    h('p', { class: 'pager' },
      after ? h('a', { href: `#/users${q ? `?q=${enc(q)}` : ''}` }, 'First page') : null, ' ',
      page.next ? h('a', { href: `#/users?${new URLSearchParams({ q, after: page.next })}`, id: 'next-page' }, 'Next page') : null));
}

function sessionRow(u, s, highlight, reload) {
  return h('tr', { 'data-session': s.id, class: s.id === highlight ? 'highlight' : null },
    h('td', {}, h('code', {}, s.id)),
    h('td', {}, time(s.created_at)),
    h('td', {}, time(s.last_used_at)),
    h('td', {}, time(s.expires_at)),
    h('td', {}, s.client_id ?? 'direct login'),
    h('td', {}, [s.ip, s.user_agent].filter(Boolean).join(' · ') || '—'),
    h('td', {}, button('End', () => act(async () => {
      await api('DELETE', `/v1/admin/users/${enc(u.id)}/sessions/${enc(s.id)}`);
      await reload();
    }, 'Session ended.'), { class: 'end-session' })));
}

// `mfa`: the factors enrolled (`totp`, `passkey`), as the admin API lists them.
function mfaState(u) {
  if (!Array.isArray(u.mfa)) return null;
  return u.mfa.length ? u.mfa.join(', ') : 'not set up';
}

async function detail(main, id, highlight) {
  const reload = () => detail(main, id, highlight);
  const { user: u, sessions } = await get(`/v1/admin/users/${enc(id)}`);
  const roles = h('input', { id: 'roles', value: u.roles.join(', '), autocomplete: 'off' });
  const rolesForm = h('form', { class: 'inline', id: 'roles-form' }, field('Roles (comma-separated)', roles), h('button', { type: 'submit' }, 'Save roles'));
  rolesForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const list = roles.value.split(',').map((x) => x.trim()).filter(Boolean);
    act(async () => {
      await api('PUT', `/v1/admin/users/${enc(id)}/roles`, { roles: list });
      await reload();
    }, 'Roles saved.');
  });
  const mfa = mfaState(u);
  const actions = [
    u.disabled
      ? button('Enable', () => act(async () => { await api('POST', `/v1/admin/users/${enc(id)}/enable`); await reload(); }, 'User enabled.'), { id: 'enable' })
      : button('Disable', () => act(async () => { await api('POST', `/v1/admin/users/${enc(id)}/disable`); await reload(); }, 'User disabled: sessions ended, no login or refresh.'), { id: 'disable', class: 'warn' }),
    button('Send password reset', () => act(() => api('POST', `/v1/admin/users/${enc(id)}/password-reset`), `A reset link is on its way to ${u.email}.`), { id: 'password-reset' }),
    Array.isArray(u.mfa) && u.mfa.length
      ? button('Reset MFA', async () => {
          if (!(await confirmAction(`Remove every second factor of ${u.email}?`))) return;
          await act(async () => { await api('POST', `/v1/admin/users/${enc(id)}/mfa/reset`); await reload(); }, 'MFA reset.');
        }, { id: 'reset-mfa' })
      : null,
    button('End all sessions', async () => {
      if (!(await confirmAction(`End every session of ${u.email}?`))) return;
      await act(async () => { await api('DELETE', `/v1/admin/users/${enc(id)}/sessions`); await reload(); }, 'All sessions ended.');
    }, { id: 'end-all' }),
    button('Delete user', async () => {
      if (!(await confirmAction(`Delete ${u.email} for good? Sessions end and personal data is removed.`, u.email))) return;
      const done = await act(async () => { await api('DELETE', `/v1/admin/users/${enc(id)}`); return true; }, `${u.email} deleted.`);
      if (done) location.hash = '#/users';
    }, { id: 'delete-user', class: 'danger' }),
  ];
  mount(main,
    h('p', {}, h('a', { href: '#/users' }, '← Users')),
    h('h1', { id: 'user-email' }, u.email),
    h('dl', { class: 'facts', id: 'user-facts' },
      h('dt', {}, 'User id'), h('dd', {}, h('code', {}, u.id)),
      h('dt', {}, 'State'), h('dd', { id: 'user-state' }, u.disabled ? 'disabled' : 'active'),
      h('dt', {}, 'Roles'), h('dd', { id: 'user-roles' }, u.roles.join(', ') || '—'),
      h('dt', {}, 'Email verified'), h('dd', {}, u.email_verified ? 'yes' : 'no'),
      h('dt', {}, 'Created'), h('dd', {}, time(u.created_at)),
      h('dt', {}, 'Last login'), h('dd', {}, time(u.last_login_at)),
      h('dt', {}, 'MFA'), h('dd', { id: 'user-mfa' }, mfa ?? 'not reported by this server'),
      h('dt', {}, 'Audit'), h('dd', {}, h('a', { href: `#/audit?user_id=${enc(u.id)}` }, 'Events of this user'))),
    rolesForm,
    h('div', { class: 'actions' }, actions),
    h('h2', {}, `Live sessions (${sessions.length})`),
    table(['Session', 'Started', 'Last used', 'Expires', 'Client', 'From', ''],
      sessions.map((s) => sessionRow(u, s, highlight, reload)), { id: 'sessions' }));
}
