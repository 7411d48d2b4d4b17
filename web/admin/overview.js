// Overview: counts over the last hour and day with a 24-hour bar chart
// each, active sessions, users, the signing key's age, and warnings, all
// from `GET /v1/admin/overview`.
import { get } from './api.js';
import { bars } from './charts.js';
import { age, h, mount } from './ui.js';

const LABELS = {
  logins: 'Logins',
  login_failures: 'Login failures',
  refreshes: 'Refreshes',
  reuse_detected: 'Refresh-token reuse',
  registrations: 'Registrations',
  admin_actions: 'Admin actions',
  revocations: 'Revocations',
};
const label = (k) => LABELS[k] ?? k.replace(/_/g, ' ');

export async function render(main) {
  const o = await get('/v1/admin/overview');
  const counts = Object.entries(o.counts ?? {});
  const key = o.signing_key;
  mount(main,
    h('h1', {}, 'Overview'),
    (o.warnings ?? []).length
      ? h('ul', { class: 'warnings', id: 'warnings' }, o.warnings.map((w) => h('li', { 'data-code': w.code }, h('strong', {}, 'Warning: '), w.message)))
      : h('p', { class: 'ok', id: 'warnings' }, 'No warnings.'),
    h('div', { class: 'stats' },
      h('div', { class: 'stat' }, h('span', {}, 'Active sessions'), h('strong', { id: 'active-sessions' }, String(o.active_sessions ?? '—'))),
      h('div', { class: 'stat' }, h('span', {}, 'Users'), h('strong', { id: 'user-count' }, String(o.users ?? '—'))),
      h('div', { class: 'stat' }, h('span', {}, 'Signing key age'),
        h('strong', { id: 'key-age' }, key ? age(key.age_seconds) : '—'),
        key ? h('small', {}, h('code', {}, key.kid)) : null)),
    h('div', { class: 'cards', id: 'counts' },
      counts.map(([k, c]) =>
        h('figure', { class: 'card', 'data-count': k },
          h('figcaption', {}, label(k)),
          h('p', { class: 'numbers' }, h('strong', {}, String(c.hour)), ' last hour · ', h('strong', {}, String(c.day)), ' last day'),
          o.series?.[k] ? bars(o.series[k], label(k)) : null))));
}
