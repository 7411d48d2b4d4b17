// OAuth clients: list, create, edit (grants, scopes, redirect URIs, public
// or confidential, first-party), rotate a secret, delete. A new secret is
// made here (32 random bytes), sent once, shown once with a copy button;
// the server keeps only its hash.
import { api, enc, get } from './api.js';
import { act, button, confirmAction, field, h, mount, secretBox, table, time } from './ui.js';

const GRANTS = ['authorization_code', 'refresh_token', 'client_credentials', 'password', 'introspect'];
/** The registration fields a PUT must carry again (the view has a few more). */
const KEPT = ['id_token_signed_response_alg', 'dpop_bound_access_tokens', 'id_token_encrypted_response_alg', 'id_token_encrypted_response_enc', 'jwks'];

const newSecret = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const words = (s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

export async function render(main, r) {
  const { clients } = await get('/v1/admin/clients');
  const editing = r.parts[0] === 'new' ? {} : clients.find((c) => c.client_id === r.parts[0]);
  const shown = h('div', { id: 'secret-slot' });
  const rows = clients.map((c) =>
    h('tr', { 'data-client': c.client_id },
      h('td', {}, h('a', { href: `#/clients/${enc(c.client_id)}` }, c.client_id)),
      h('td', {}, c.public ? 'public' : 'confidential', c.first_party ? ' · first-party' : ''),
      h('td', {}, c.grant_types.join(', ') || '—'),
      h('td', {}, c.scopes.join(' ') || '—'),
      h('td', {}, c.redirect_uris.join(' ') || '—'),
      h('td', {}, time(c.created_at)),
      h('td', { class: 'row-actions' },
        c.public ? null : button('Rotate secret', async () => {
          if (!(await confirmAction(`Rotate the secret of ${c.client_id}? The old one stops working at once.`))) return;
          const res = await act(() => api('POST', `/v1/admin/clients/${enc(c.client_id)}/secret`), 'Secret rotated.');
          const secret = res?.client_secret ?? res?.secret;
          if (secret) mount(shown, secretBox(`New secret of ${c.client_id}`, secret));
        }, { class: 'rotate-secret' }),
        button('Delete', async () => {
          if (!(await confirmAction(`Delete the client ${c.client_id}? Its tokens stop being refreshed.`, c.client_id))) return;
          if (await act(async () => { await api('DELETE', `/v1/admin/clients/${enc(c.client_id)}`); return true; }, `${c.client_id} deleted.`)) await render(main, { parts: [] });
        }, { class: 'danger delete-client' }))));
  mount(main,
    h('h1', {}, 'Clients'),
    shown,
    table(['Client id', 'Type', 'Grants', 'Scopes', 'Redirect URIs', 'Created', ''], rows, { id: 'clients' }),
    editing ? editor(main, editing) : h('p', {}, h('a', { href: '#/clients/new', id: 'new-client', class: 'button' }, 'New client')));
}

function editor(main, c) {
  const isNew = !c.client_id;
  const id = h('input', { name: 'client_id', id: 'client-id', value: c.client_id ?? '', required: true, readonly: !isNew, autocomplete: 'off' });
  const kind = h('select', { name: 'kind', id: 'client-kind' },
    h('option', { value: 'confidential', selected: !c.public }, 'Confidential (has a secret)'),
    h('option', { value: 'public', selected: Boolean(c.public) }, 'Public (browser or native app, PKCE)'));
  const firstParty = h('input', { type: 'checkbox', id: 'client-first-party', checked: Boolean(c.first_party) });
  const grants = GRANTS.map((g) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'grant', value: g, checked: (c.grant_types ?? []).includes(g) }), ` ${g}`));
  const scopes = h('input', { id: 'client-scopes', value: (c.scopes ?? []).join(' '), autocomplete: 'off' });
  const redirects = h('textarea', { id: 'client-redirects', rows: 3 }, (c.redirect_uris ?? []).join('\n'));
  const form = h('form', { id: 'client-form', class: 'panel' },
    h('h2', {}, isNew ? 'New client' : `Edit ${c.client_id}`),
    field('Client id', id),
    field('Type', kind),
    h('label', { class: 'check' }, firstParty, ' First-party (no consent page; may use Tessera’s own API)'),
    h('fieldset', {}, h('legend', {}, 'Grants'), grants),
    field('Scopes', scopes, 'Space-separated API scopes it may request'),
    field('Redirect URIs', redirects, 'One per line; exact match'),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, isNew ? 'Create' : 'Save'), ' ', h('a', { href: '#/clients' }, 'Cancel')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const pub = kind.value === 'public';
    const body = {
      client_id: id.value.trim(),
      grant_types: grants.map((l) => l.firstChild).filter((i) => i.checked).map((i) => i.value),
      scopes: words(scopes.value),
      redirect_uris: words(redirects.value),
      post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
      public: pub,
      first_party: firstParty.checked,
    };
    for (const k of KEPT) if (c[k] !== undefined && c[k] !== null) body[k] = c[k];
    // A new confidential client (or one turning confidential) gets a secret.
    const secret = !pub && (isNew || c.public) ? newSecret() : undefined;
    if (secret) body.client_secret = secret;
    const saved = await act(
      () => (isNew ? api('POST', '/v1/admin/clients', body) : api('PUT', `/v1/admin/clients/${enc(c.client_id)}`, body)),
      isNew ? `Client ${body.client_id} created.` : 'Saved.',
    );
    if (!saved) return;
    history.replaceState(null, '', '#/clients');
    await render(main, { parts: [] });
    if (secret) mount(document.getElementById('secret-slot'), secretBox(`Secret of ${saved.client_id}`, secret));
  });
  return form;
}
