// Signing keys: state (published, signing, retiring, revoked) and dates;
// rotate (the new key is published first and signs later), rotate now,
// and revoke a compromised key.
import { api, enc, get } from './api.js';
import { act, button, confirmAction, h, mount, table, time } from './ui.js';

/** The key's state: the API's, or derived from the older shape. */
function state(k) {
  if (k.state) return k.state;
  if (k.signing) return 'signing';
  return k.retired_at ? 'retiring' : 'published';
}

export async function render(main) {
  const reload = () => render(main);
  const { keys } = await get('/v1/admin/keys');
  const rows = keys.map((k) => {
    const st = state(k);
    return h('tr', { 'data-kid': k.kid, 'data-state': st },
      h('td', {}, h('code', {}, k.kid)),
      h('td', {}, k.alg),
      h('td', {}, h('span', { class: `tag ${st}` }, st)),
      h('td', {}, time(k.created_at)),
      h('td', {}, time(k.activates_at)),
      h('td', {}, time(k.retired_at)),
      h('td', {}, time(k.revoked_at)),
      h('td', {}, st === 'revoked' ? null : button('Revoke', async () => {
        if (!(await confirmAction(`Revoke ${k.kid}? Its tokens are refused at once${st === 'signing' ? ' and a new key starts signing' : ''}.`, k.kid))) return;
        await act(async () => { await api('POST', `/v1/admin/keys/${enc(k.kid)}/revoke`); await reload(); }, `${k.kid} revoked.`);
      }, { class: 'danger revoke-key' })));
  });
  mount(main,
    h('h1', {}, 'Signing keys'),
    h('div', { class: 'actions' },
      button('Rotate', () => act(async () => { await api('POST', '/v1/admin/keys/rotate'); await reload(); }, 'A new key is published; it starts signing after the overlap.'), { id: 'rotate' }),
      button('Rotate now', async () => {
        if (!(await confirmAction('Sign with a new key at once? Resource servers that cached the JWKS may refuse new tokens until they refetch it.'))) return;
        await act(async () => { await api('POST', '/v1/admin/keys/rotate?immediate=true'); await reload(); }, 'The new key signs now.');
      }, { id: 'rotate-now', class: 'warn' })),
    table(['Key id', 'Alg', 'State', 'Created', 'Signs from', 'Retired', 'Revoked', ''], rows, { id: 'keys' }));
}
