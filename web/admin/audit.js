// The audit log: newest first, paged, filtered by event, user, client,
// actor and time range (the filters live in the URL, so links to a user's
// or a client's events work). Each row links to its user and session, and
// shows the actor (the acting admin, or `cli:<os user>`) and the target.
import { enc, get, withQuery } from './api.js';
import { field, h, mount, table, time } from './ui.js';

const FILTERS = ['event', 'user_id', 'client_id', 'actor', 'since', 'until'];
const toLocalInput = (secs) => (secs ? new Date((secs - new Date().getTimezoneOffset() * 60) * 1000).toISOString().slice(0, 16) : '');
const fromLocalInput = (v) => (v ? String(Math.floor(new Date(v).getTime() / 1000)) : '');

function who(id) {
  if (!id) return '—';
  if (id.startsWith('cli:')) return h('span', { class: 'tag' }, id);
  return h('a', { href: `#/users/${enc(id)}` }, h('code', {}, id));
}

export async function render(main, r) {
  const q = r.query;
  const params = Object.fromEntries(FILTERS.map((k) => [k, q.get(k) ?? '']));
  const page = await get(withQuery('/v1/admin/audit', { ...params, before: q.get('before') ?? '', limit: 50 }));
  const inputs = {
    event: h('input', { id: 'f-event', value: params.event, placeholder: 'roles.changed', autocomplete: 'off' }),
    user_id: h('input', { id: 'f-user', value: params.user_id, autocomplete: 'off' }),
    client_id: h('input', { id: 'f-client', value: params.client_id, autocomplete: 'off' }),
    actor: h('input', { id: 'f-actor', value: params.actor, autocomplete: 'off' }),
    since: h('input', { id: 'f-since', type: 'datetime-local', value: toLocalInput(Number(params.since)) }),
    until: h('input', { id: 'f-until', type: 'datetime-local', value: toLocalInput(Number(params.until)) }),
  };
  const form = h('form', { class: 'filters', id: 'audit-filters' },
    field('Event', inputs.event), field('User id', inputs.user_id), field('Client id', inputs.client_id),
    field('Actor', inputs.actor), field('Since', inputs.since), field('Until', inputs.until),
    h('p', {}, h('button', { type: 'submit' }, 'Filter'), ' ', h('a', { href: '#/audit' }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = {};
    for (const k of ['event', 'user_id', 'client_id', 'actor']) next[k] = inputs[k].value.trim();
    next.since = fromLocalInput(inputs.since.value);
    next.until = fromLocalInput(inputs.until.value);
    location.hash = withQuery('#/audit', next);
  });
  const rows = page.events.map((ev) =>
    h('tr', { 'data-event': ev.event, 'data-id': ev.id },
      h('td', {}, time(ev.at)),
      h('td', {}, h('a', { href: withQuery('#/audit', { event: ev.event }) }, ev.event), ev.count > 1 ? ` ×${ev.count}` : ''),
      h('td', { class: 'actor' }, who(ev.actor)),
      h('td', { class: 'target' }, who(ev.user_id)),
      h('td', {}, ev.client_id ? h('a', { href: withQuery('#/audit', { client_id: ev.client_id }) }, ev.client_id) : '—'),
      h('td', {}, ev.session_id && ev.user_id
        ? h('a', { href: `#/users/${enc(ev.user_id)}?session=${enc(ev.session_id)}` }, h('code', {}, ev.session_id.slice(0, 8)))
        : ev.session_id ?? '—'),
      h('td', {}, ev.ip ?? '—'),
      h('td', { class: 'detail' }, ev.detail ?? '')));
  const older = page.next ? h('a', { id: 'older', href: withQuery('#/audit', { ...params, before: page.next }) }, 'Older events') : null;
  mount(main,
    h('h1', {}, 'Audit log'),
    form,
    table(['When', 'Event', 'Actor', 'Target user', 'Client', 'Session', 'IP', 'Detail'], rows, { id: 'audit' }),
    h('p', { class: 'pager' }, q.get('before') ? h('a', { href: withQuery('#/audit', params) }, 'Newest') : null, ' ', older));
}
