// Unit tests for @tessera/client against a fake Tessera (test/fake-server.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TesseraClient, TesseraError, memoryStorage, CSRF_HEADER } from '../tessera-client.js';
import { FakeClock, FakeTessera, FakeLocks } from './fake-server.js';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';

async function setup({ ttl = 60, skew = 0, mode = 'bearer', latency = 2, ...opts } = {}) {
  const clock = new FakeClock();
  const server = new FakeTessera({ clock, ttl, latency });
  const ended = [];
  const client = new TesseraClient({
    mode,
    fetch: server.fetch,
    now: () => clock.now() + skew * 1000,
    onSessionEnded: (info) => ended.push(info),
    ...opts,
  });
  await client.register(EMAIL, PASSWORD);
  await client.login(EMAIL, PASSWORD);
  return { clock, server, client, ended };
}

test('attaches the access token', async () => {
  const { server, client } = await setup();
  const res = await client.fetch('/v1/me');
  assert.equal(res.status, 200);
  const me = server.log.find((r) => r.path === '/v1/me');
  assert.equal(me.headers.authorization, `Bearer ${client.accessToken}`);
});

test('racing calls after expiry share exactly one refresh (proactive)', async () => {
  const { clock, server, client } = await setup({ ttl: 60 });
  clock.advance(61);
  const results = await Promise.all(Array.from({ length: 10 }, () => client.fetch('/v1/me')));
  assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
  assert.equal(server.count('/v1/auth/refresh'), 1);
  assert.equal(server.count('/v1/me', 401), 0, 'the expiry was known locally; no request went out with a dead token');
});

test('racing 401s share exactly one refresh and each retries once', async () => {
  const { clock, server, client } = await setup({ ttl: 60, proactive: false });
  clock.advance(61);
  const results = await Promise.all(Array.from({ length: 8 }, () => client.fetch('/v1/me')));
  assert.deepEqual(results.map((r) => r.status), Array(8).fill(200));
  assert.equal(server.count('/v1/auth/refresh'), 1);
  assert.equal(server.count('/v1/me', 401), 8);
  assert.equal(server.count('/v1/me', 200), 8);
});

test('a 401 that arrives after another call refreshed retries without a second refresh', async () => {
  const { clock, server, client } = await setup({ ttl: 60, proactive: false });
  clock.advance(61);
  const slow = client.fetch('/v1/me'); // goes out with the expired token
  await client.refresh(); // another part of the app refreshes meanwhile
  const res = await slow;
  assert.equal(res.status, 200);
  assert.equal(server.count('/v1/auth/refresh'), 1);
});

for (const skew of [3 * 3600, -3 * 3600, 40 * 86400]) {
  test(`a client clock off by ${skew} s changes nothing: refresh comes from expires_in`, async () => {
    const { clock, server, client } = await setup({ ttl: 300, skew, refreshMargin: 30 });
    // Half the lifetime later: still fresh, no refresh (a client reading
    // `exp` against a clock hours ahead would refresh on every call).
    clock.advance(150);
    assert.equal((await client.fetch('/v1/me')).status, 200);
    assert.equal(server.count('/v1/auth/refresh'), 0);
    assert.ok(Math.abs(client.expiresIn - 150) < 1, `expiresIn ${client.expiresIn}`);
    // Inside the margin: one refresh before the call (a client reading `exp`
    // against a clock hours behind would send the token until it failed).
    clock.advance(125);
    assert.equal((await client.fetch('/v1/me')).status, 200);
    assert.equal(server.count('/v1/auth/refresh'), 1);
    clock.advance(300);
    assert.equal((await client.fetch('/v1/me')).status, 200);
    assert.equal(server.count('/v1/auth/refresh'), 2);
    assert.equal(server.count('/v1/me', 401), 0, 'no request ever carried an expired token');
  });
}

test('expiry counts from when the request was sent, not when a slow answer arrived', async () => {
  const clock = new FakeClock();
  const server = new FakeTessera({ clock, ttl: 60 });
  const slowFetch = async (input, init) => {
    const res = await server.fetch(input, init);
    clock.advance(20); // the answer takes 20 s to arrive
    return res;
  };
  const client = new TesseraClient({ fetch: slowFetch, now: clock.now });
  await client.register(EMAIL, PASSWORD);
  const before = clock.now();
  await client.login(EMAIL, PASSWORD);
  assert.equal(client.expiresAt, before + 60_000);
});

test('a reuse-revoked session ends cleanly: one refresh, one callback, no loop', async () => {
  const calls = [];
  const { server, client, ended } = await setup({ ttl: 60 });
  const stolen = server.sessions.values().next().value.current;
  assert.equal((await client.fetch('/v1/me')).status, 200);
  await client.refresh();
  await client.refresh();
  // The thief replays a spent refresh token: the server revokes the session.
  const theft = await server.replay(stolen);
  assert.equal(theft.status, 401);
  const before = server.log.length;
  const results = await Promise.all(Array.from({ length: 5 }, () => client.fetch('/v1/me')));
  for (const r of results) calls.push(r.status);
  assert.deepEqual(calls, [401, 401, 401, 401, 401]);
  const after = server.log.slice(before);
  assert.equal(after.filter((r) => r.path === '/v1/auth/refresh').length, 1, 'exactly one refresh attempt');
  assert.equal(after.filter((r) => r.path === '/v1/me').length, 5, 'no retries after the refusal');
  assert.equal(ended.length, 1);
  assert.equal(ended[0].reason, 'refresh_rejected');
  assert.equal(ended[0].error, 'invalid_grant');
  assert.equal(client.sessionEnded, true);
  assert.equal(client.accessToken, null);
  // Later calls go out without a token and never refresh again.
  const n = server.log.length;
  assert.equal((await client.fetch('/v1/me')).status, 401);
  assert.equal(server.log.length, n + 1);
  assert.equal(server.log.at(-1).headers.authorization, undefined);
  assert.equal(await client.refresh().catch(() => 'threw'), false);
  assert.equal(ended.length, 1, 'the callback fired once');
});

test('a token refused even after a refresh is returned after one retry', async () => {
  const { server, client, ended } = await setup();
  server.refuseAccess = true;
  const res = await client.fetch('/v1/me');
  assert.equal(res.status, 401);
  assert.equal(server.count('/v1/me'), 2);
  assert.equal(server.count('/v1/auth/refresh'), 1);
  assert.equal(ended.length, 0, 'the session itself is fine');
});

test('a transient refresh failure keeps the session', async () => {
  const { clock, server, client, ended } = await setup({ ttl: 60, proactive: false });
  clock.advance(61);
  server.failRefresh = 503;
  assert.equal((await client.fetch('/v1/me')).status, 401);
  await assert.rejects(client.refresh(), (e) => e instanceof TesseraError && e.status === 503);
  assert.equal(ended.length, 0);
  assert.equal(client.active, true);
  server.failRefresh = null;
  assert.equal((await client.fetch('/v1/me')).status, 200);
});

test('retries a Request with a body', async () => {
  const { clock, server, client } = await setup({ ttl: 60, proactive: false });
  clock.advance(61);
  const req = new Request('http://tessera.test/v1/me', { method: 'POST', body: 'payload' });
  const res = await client.fetch(req);
  assert.equal(res.status, 200);
  const mes = server.log.filter((r) => r.path === '/v1/me');
  assert.deepEqual(mes.map((r) => r.body), ['payload', 'payload']);
});

test('bearer mode keeps the refresh token in the storage it is given', async () => {
  const store = memoryStorage();
  const seen = [];
  const storage = { get: () => store.get(), set: (v) => { seen.push(v); store.set(v); }, clear: () => store.clear() };
  const { client, server } = await setup({ storage });
  assert.equal(seen.length, 1);
  assert.match(seen[0], /^tsr_/);
  await client.refresh();
  assert.equal(seen.length, 2);
  const refresh = server.log.find((r) => r.path === '/v1/auth/refresh');
  assert.deepEqual(JSON.parse(refresh.body), { refresh_token: seen[0] });
  await client.logout();
  assert.equal(store.get(), null);
});

test('cookie mode: the refresh token never reaches the client; refresh sends the CSRF header', async () => {
  const { server, client } = await setup({ mode: 'cookie', crossTab: false });
  const login = server.log.find((r) => r.path === '/v1/auth/login');
  assert.equal(JSON.parse(login.body).cookie, true);
  assert.equal(login.credentials, 'include');
  assert.ok(server.cookie, 'the server set the cookie');
  assert.ok(!JSON.stringify(client).includes(server.cookie), 'the client holds no refresh token');
  assert.equal(await client.refresh(), true);
  const refresh = server.log.find((r) => r.path === '/v1/auth/refresh');
  assert.equal(refresh.body, null);
  assert.equal(refresh.credentials, 'include');
  assert.equal(refresh.headers[CSRF_HEADER.toLowerCase()], '1');
  assert.equal(refresh.status, 200);
});

test('resume picks up an existing cookie session, and reports nothing when there is none', async () => {
  const { server } = await setup({ mode: 'cookie', crossTab: false });
  const ended = [];
  const fresh = new TesseraClient({ mode: 'cookie', crossTab: false, fetch: server.fetch, onSessionEnded: (i) => ended.push(i) });
  assert.equal(await fresh.resume(), true);
  assert.equal((await fresh.fetch('/v1/me')).status, 200);
  server.cookie = null;
  const none = new TesseraClient({ mode: 'cookie', crossTab: false, fetch: server.fetch, onSessionEnded: (i) => ended.push(i) });
  assert.equal(await none.resume(), false);
  assert.equal(ended.length, 0, 'no session ended: there was none');
});

test('logout ends the session once and reports it', async () => {
  const { server, client, ended } = await setup();
  await client.logout();
  assert.equal(server.count('/v1/auth/logout'), 1);
  assert.deepEqual(ended.map((e) => e.reason), ['logout']);
  assert.equal(client.accessToken, null);
  assert.equal((await client.fetch('/v1/me')).status, 401);
  assert.equal(server.count('/v1/auth/refresh'), 0);
});

test('a throwing callback does not break the client', async () => {
  const errors = [];
  const saved = globalThis.reportError;
  globalThis.reportError = (e) => errors.push(e);
  try {
    const { server, client } = await setup({
      onTokens: () => {
        throw new Error('app bug');
      },
    });
    assert.equal(await client.refresh(), true);
    assert.equal((await client.fetch('/v1/me')).status, 200);
    assert.equal(server.count('/v1/auth/refresh'), 1);
  } finally {
    globalThis.reportError = saved;
  }
  assert.equal(errors.length, 2, 'login and refresh each reported the callback error');
  assert.equal(errors[0].message, 'app bug');
});

// ---- Across tabs: two clients share one cookie jar, a lock manager and a BroadcastChannel.

async function twoTabs({ locks, ttl = 60 }) {
  const clock = new FakeClock();
  const server = new FakeTessera({ clock, ttl, latency: 20 });
  const channelName = `tabs-${Math.random()}`;
  const ended = { a: [], b: [] };
  const make = (tab) =>
    new TesseraClient({
      mode: 'cookie',
      fetch: server.fetch,
      now: clock.now,
      locks,
      channelName,
      electionWindow: 30,
      onSessionEnded: (i) => ended[tab].push(i),
    });
  const a = make('a');
  const b = make('b');
  await a.register(EMAIL, PASSWORD);
  await a.login(EMAIL, PASSWORD);
  // Tab b picks the session up from a's broadcast.
  await waitFor(() => b.accessToken === a.accessToken);
  return { clock, server, a, b, ended };
}

async function waitFor(cond, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const [label, locks] of [
  ['Web Locks', new FakeLocks()],
  ['the BroadcastChannel fallback', null],
]) {
  test(`two tabs refreshing at once make one refresh (${label})`, async () => {
    const { clock, server, a, b, ended } = await twoTabs({ locks });
    try {
      clock.advance(61);
      const [ra, rb] = await Promise.all([a.fetch('/v1/me'), b.fetch('/v1/me')]);
      assert.equal(ra.status, 200);
      assert.equal(rb.status, 200);
      assert.equal(server.count('/v1/auth/refresh'), 1, 'one tab refreshed for both');
      assert.equal(a.accessToken, b.accessToken, 'the other tab received the result');
      assert.equal([...server.sessions.values()][0].revoked, false);
      // And again, from the other side.
      clock.advance(61);
      const both = await Promise.all([b.refresh(), a.refresh()]);
      assert.deepEqual(both, [true, true]);
      assert.equal(server.count('/v1/auth/refresh'), 2);
      assert.equal(ended.a.length + ended.b.length, 0);
    } finally {
      a.close();
      b.close();
    }
  });
}

test('a session ended in one tab ends in the other, once', async () => {
  const { server, a, b, ended } = await twoTabs({ locks: new FakeLocks() });
  try {
    const spent = server.cookie;
    await a.refresh();
    await a.refresh();
    assert.equal((await server.replay(spent)).status, 401);
    server.cookie = [...server.sessions.values()][0].current; // the browser still holds the latest cookie
    assert.equal(await a.refresh(), false);
    await waitFor(() => ended.b.length === 1);
    assert.equal(ended.a.length, 1);
    assert.equal(b.accessToken, null);
    const refreshes = server.count('/v1/auth/refresh');
    assert.equal((await b.fetch('/v1/me')).status, 401);
    assert.equal(server.count('/v1/auth/refresh'), refreshes, 'the other tab does not try again');
  } finally {
    a.close();
    b.close();
  }
});

test('a tab waiting for another that never answers refreshes itself', async () => {
  const clock = new FakeClock();
  const server = new FakeTessera({ clock, ttl: 60 });
  const locks = new FakeLocks();
  const client = new TesseraClient({ mode: 'cookie', fetch: server.fetch, now: clock.now, locks, channelName: `x-${Math.random()}`, peerTimeout: 100 });
  try {
    await client.register(EMAIL, PASSWORD);
    await client.login(EMAIL, PASSWORD);
    // Another "tab" holds the lock and dies without a word.
    let release;
    const held = locks.request(client.lockName, () => new Promise((r) => (release = r)));
    const started = Date.now();
    const refreshed = client.refresh();
    setTimeout(() => release(), 150);
    assert.equal(await refreshed, true);
    await held;
    assert.ok(Date.now() - started >= 100);
    assert.equal(server.count('/v1/auth/refresh'), 1);
  } finally {
    client.close();
  }
});

test('webStorage keeps the refresh token in a Storage area under its key', async () => {
  const { webStorage } = await import('../tessera-client.js');
  const items = new Map();
  const area = {
    getItem: (k) => (items.has(k) ? items.get(k) : null),
    setItem: (k, v) => items.set(k, String(v)),
    removeItem: (k) => items.delete(k),
  };
  const storage = webStorage(area, 'my.key');
  assert.equal(storage.shared, false, 'only localStorage is shared between tabs');
  const { client } = await setup({ storage });
  assert.match(items.get('my.key'), /^tsr_/);
  await client.logout();
  assert.equal(items.has('my.key'), false);
});
