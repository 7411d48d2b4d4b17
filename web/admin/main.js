// The admin console's entry: sign-in, the admin check, and a hash router
// over the views (#/overview, #/users, #/users/<id>, #/clients, #/keys,
// #/audit?...). Every action goes through the admin JSON API.
import { AuthError, completeSignIn, mayResume, refresh, signIn, signOut } from './auth.js';
import { ApiError, get } from './api.js';
import { h, mount, notice } from './ui.js';
import * as overview from './overview.js';
import * as users from './users.js';
import * as clients from './clients.js';
import * as keys from './keys.js';
import * as audit from './audit.js';

const VIEWS = { overview, users, clients, keys, audit };
const main = document.getElementById('main');

function signInPage(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('sign-out').hidden = true;
  mount(
    main,
    h('section', { class: 'panel narrow', id: 'signed-out' },
      h('h1', {}, 'Tessera admin console'),
      message ? h('p', { class: 'bad' }, message) : null,
      h('p', {}, 'Sign in with an account that has the ', h('code', {}, 'admin'), ' role.'),
      h('button', { type: 'button', id: 'sign-in', class: 'primary', onclick: () => signIn() }, 'Sign in'),
    ),
  );
}

function notAdminPage(email) {
  document.getElementById('nav').hidden = true;
  mount(
    main,
    h('section', { class: 'panel narrow', id: 'not-admin' },
      h('h1', {}, 'Not an administrator'),
      h('p', {}, email ? `You are signed in as ${email}, ` : 'You are signed in, ',
        'but this account does not have the ', h('code', {}, 'admin'), ' role, so the console is closed to it.'),
      h('p', {}, 'Ask an administrator to grant it (', h('code', {}, 'tessera users set-roles'), '), then sign in again.'),
    ),
  );
}

/** The current route: view name, path parts and query. */
function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || 'overview', parts: parts.slice(1), query: new URLSearchParams(query ?? '') };
}

async function render() {
  const r = route();
  const view = VIEWS[r.view];
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === r.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!view) {
    mount(main, h('p', {}, 'No such page. ', h('a', { href: '#/overview' }, 'Back to the overview')));
    return;
  }
  mount(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await view.render(main, r);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return notAdminPage();
    if (e instanceof AuthError) return signInPage(`Your session ended: ${e.message}`);
    mount(main, h('p', { class: 'bad', role: 'alert' }, e.message ?? String(e)));
  }
}

async function boot() {
  document.getElementById('sign-out').addEventListener('click', () => signOut());
  try {
    const redirected = await completeSignIn();
    if (!redirected) {
      if (!mayResume()) return signInPage(null);
      await refresh(); // resume from the refresh cookie after a reload
    }
  } catch (e) {
    const fresh = e instanceof AuthError && e.code === 'invalid_grant' && !location.search;
    return signInPage(fresh ? null : e.message);
  }
  let me;
  try {
    me = await get('/v1/me');
    // Authorization is the API's: a non-admin gets 403 from every admin route.
    await get('/v1/admin/users?limit=1');
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return notAdminPage(me?.email);
    return signInPage(e.message);
  }
  document.getElementById('who').textContent = me.email;
  document.getElementById('nav').hidden = false;
  document.getElementById('sign-out').hidden = false;
  window.addEventListener('hashchange', render);
  await render();
  document.body.dataset.ready = 'true';
}

boot().catch((e) => notice(e.message ?? String(e), 'bad'));
