// A fake Tessera for the client's unit tests: the same refresh rules as the
// real server (rotation, a grace window for the immediate parent, reuse of
// any other spent token revokes the session), a clock of its own, and a log
// of every request it answered.

export class FakeClock {
  constructor(ms = 1_800_000_000_000) {
    this.ms = ms;
  }
  now = () => this.ms;
  advance(seconds) {
    this.ms += seconds * 1000;
  }
}

const json = (status, body, headers = {}) =>
  new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
const error = (status, code, description) => json(status, { error: code, error_description: description });

export class FakeTessera {
  /**
   * @param {object} opts
   * @param {FakeClock} opts.clock the server's clock
   * @param {number} [opts.ttl] access-token lifetime, seconds
   * @param {number} [opts.grace] parent-replay window, seconds
   * @param {number} [opts.latency] ms each answer takes (real time)
   */
  constructor({ clock, ttl = 60, grace = 10, latency = 2 } = {}) {
    this.clock = clock;
    this.ttl = ttl;
    this.grace = grace;
    this.latency = latency;
    this.users = new Map();
    this.sessions = new Map(); // sid -> { current, parent, rotatedAt, revoked, spent:Set }
    this.access = new Map(); // token -> { sid, exp (server seconds) }
    this.refreshTokens = new Map(); // refresh token -> sid
    this.cookie = null; // the browser's cookie jar (one cookie)
    this.log = [];
    this.failRefresh = null; // status to answer refreshes with, for transient failures
    this.refuseAccess = false; // /v1/me refuses every token
    this.n = 0;
  }

  count(path, status) {
    return this.log.filter((r) => r.path === path && (status === undefined || r.status === status)).length;
  }

  nowSec() {
    return Math.floor(this.clock.now() / 1000);
  }

  mint(sid) {
    this.n += 1;
    const token = `at.${sid}.${this.n}`;
    this.access.set(token, { sid, exp: this.nowSec() + this.ttl });
    return token;
  }

  newRefresh(sid) {
    this.n += 1;
    const t = `tsr_${sid}_${this.n}`;
    this.refreshTokens.set(t, sid);
    return t;
  }

  pair(sid, refresh, cookieMode) {
    const body = { access_token: this.mint(sid), token_type: 'Bearer', expires_in: this.ttl, refresh_token_expires_in: 86400 };
    if (cookieMode) this.cookie = refresh;
    else body.refresh_token = refresh;
    return json(200, body, { 'cache-control': 'no-store' });
  }

  /** What a thief does: present a refresh token directly. */
  async replay(token) {
    return this.handle('/v1/auth/refresh', { method: 'POST', body: JSON.stringify({ refresh_token: token }) });
  }

  /** The fetch the client is given. */
  fetch = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url, 'http://tessera.test');
    const req = input instanceof Request ? input : null;
    const headers = new Headers(init.headers ?? req?.headers);
    let body = init.body;
    if (body === undefined && req) body = await req.text();
    await new Promise((r) => setTimeout(r, this.latency));
    const res = await this.handle(url.pathname, { method: init.method ?? req?.method ?? 'GET', headers, body, credentials: init.credentials });
    return res;
  };

  async handle(path, { method = 'GET', headers = new Headers(), body, credentials } = {}) {
    const entry = { path, method, headers: Object.fromEntries(headers), body: body ?? null, credentials, status: 0 };
    this.log.push(entry);
    const res = this.route(path, method, headers, body);
    entry.status = res.status;
    return res;
  }

  route(path, method, headers, body) {
    const parsed = body && path.startsWith('/v1/auth/') ? JSON.parse(body) : null;
    if (path === '/v1/auth/register') {
      if (this.users.has(parsed.email)) return error(409, 'email_taken', 'taken');
      this.users.set(parsed.email, parsed.password);
      return json(201, { id: `u-${this.users.size}`, email: parsed.email, roles: [] });
    }
    if (path === '/v1/auth/login') {
      if (this.users.get(parsed.email) !== parsed.password) return error(401, 'invalid_credentials', 'no');
      this.n += 1;
      const sid = `s${this.n}`;
      const refresh = this.newRefresh(sid);
      this.sessions.set(sid, { current: refresh, parent: null, rotatedAt: 0, revoked: false });
      return this.pair(sid, refresh, parsed.cookie === true);
    }
    if (path === '/v1/auth/refresh') {
      if (this.failRefresh) return error(this.failRefresh, 'temporarily_unavailable', 'try later');
      let token = parsed?.refresh_token;
      let cookieMode = false;
      if (!token) {
        if (!this.cookie) return error(400, 'invalid_request', 'send refresh_token in the body, or use cookie mode');
        if (!headers.get('x-tessera-csrf')) return error(403, 'csrf_failed', 'csrf');
        token = this.cookie;
        cookieMode = true;
      }
      const sid = this.refreshTokens.get(token);
      const s = sid && this.sessions.get(sid);
      const refuse = () => {
        if (cookieMode) this.cookie = null;
        return error(401, 'invalid_grant', 'refresh token was already used; the session has been revoked');
      };
      if (!s || s.revoked) return refuse();
      if (token === s.current) {
        const next = this.newRefresh(sid);
        s.parent = s.current;
        s.current = next;
        s.rotatedAt = this.nowSec();
        return this.pair(sid, next, cookieMode);
      }
      if (token === s.parent && this.nowSec() - s.rotatedAt <= this.grace) {
        return this.pair(sid, s.current, cookieMode);
      }
      s.revoked = true; // reuse: the whole session dies
      return refuse();
    }
    if (path === '/v1/auth/logout') {
      const token = parsed?.refresh_token ?? this.cookie;
      const sid = token && this.refreshTokens.get(token);
      if (sid) this.sessions.get(sid).revoked = true;
      this.cookie = null;
      return new Response(null, { status: 204 });
    }
    if (path === '/v1/me') {
      const auth = headers.get('authorization') ?? '';
      const at = this.access.get(auth.replace(/^Bearer /, ''));
      if (this.refuseAccess || !at || at.exp <= this.nowSec() || this.sessions.get(at.sid)?.revoked) {
        return error(401, 'invalid_token', 'the access token is not valid');
      }
      return json(200, { id: 'u-1', sid: at.sid });
    }
    return error(404, 'not_found', 'no such route');
  }
}

/** An in-process Web Locks stand-in (exclusive locks, `ifAvailable`). */
export class FakeLocks {
  constructor() {
    this.held = new Map(); // name -> queue of waiting resolvers
  }
  async request(name, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null);
      await new Promise((resolve) => this.held.get(name).push(resolve));
    } else {
      this.held.set(name, []);
    }
    try {
      return await callback({ name });
    } finally {
      const queue = this.held.get(name);
      const next = queue.shift();
      if (next) next();
      else this.held.delete(name);
    }
  }
}
