#!/usr/bin/env python3
"""The fast path of `bench/run.sh scale` (not measured): many live sessions
written straight into a stopped server's database, and the time-to-ready
launcher. Standard library only (PostgreSQL through the psql client).

  seed.py check-format sqlite|postgres <db> <refresh token>
      The token of a real login must be what this file writes: `tsr_` +
      base64url(sid 16 || generation 8 || secret 32), its session row found
      by sid, its stored hash the SHA-256 of the 56 raw bytes (unkeyed), its
      generation the row's. Prints the session's user id. Fails loudly if the
      server's format moved on (then fix `session_token` below).

  seed.py seed sqlite|postgres <db> <template user id> <sessions> <users> <pool> <pool file> <check file>
      Clones the template user's row into <users> - 1 more accounts (same
      password hash, so they can log in; bench-scale-<i>@example.com), then
      inserts <sessions> live sessions spread at random over all <users>,
      each a clone of the template user's real session with its own id,
      first token, and times spread over the last half idle period. Writes
      <pool> tokens of sessions drawn at random from all of them (one per
      line) and, for the acceptance check, one more token (`token user_id`)
      and a seeded account's email.
      SQLite: one transaction, executemany, journal off and no fsync during
      the load, the trigger on session inserts dropped and re-created with
      its exact stored SQL (last_login_at is written directly); the file is
      put back in WAL mode and checked. PostgreSQL: COPY streamed through
      psql with session_replication_role = replica (no per-row trigger or
      foreign-key check; ids are valid by construction), then VACUUM ANALYZE.

  seed.py verify <base url> <check file>
      One refresh with the check token (200, a successor of the same
      session at generation 1), then GET /v1/me with the new access token
      (the seeded session's user).

  seed.py logins <base url> <check file> <password> <n>
      n logins (4 at a time) of the seeded account named in the check file.

  seed.py launch <out file> <ready url> <program> [args...]
      Becomes <program> (exec, same pid) after forking a poller that asks
      <ready url> every 5 ms and writes the milliseconds from just before the
      exec to the first 200 into <out file> (or "timeout")."""

import base64
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

CHUNK = 20000


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def session_token(sid, gen, secret):
    """(text token, stored hash) as crates/core/src/refresh.rs makes them."""
    raw = sid + gen.to_bytes(8, "big") + secret
    return "tsr_" + b64u(raw), hashlib.sha256(raw).digest()


def log(msg):
    print(f"[seed {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- PostgreSQL via psql
def psql(url, *cmds, stdin=None):
    args = ["psql", "-qtAX", "-v", "ON_ERROR_STOP=1", url]
    for c in cmds:
        args += ["-c", c]
    return subprocess.run(args, input=stdin, check=True, capture_output=True).stdout.decode()


def pg_columns(url, table):
    out = psql(url, f"SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute "
                    f"WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped")
    return out.strip().split(",")


def pg_row(url, table, key, value):
    """One row in COPY text form (fields already escaped), by column."""
    cols = pg_columns(url, table)
    line = psql(url, f"COPY (SELECT {', '.join(cols)} FROM {table} WHERE {key} = '{value}') TO STDOUT")
    lines = [l for l in line.split("\n") if l]
    if len(lines) != 1:
        sys.exit(f"{table}: expected one row with {key} = {value}, got {len(lines)}")
    return dict(zip(cols, lines[0].split("\t")))


def pg_text(v):
    """A Python value in COPY text form (values here never hold tabs,
    newlines or backslashes, except bytea's escaped \\x)."""
    if v is None:
        return "\\N"
    if isinstance(v, bytes):
        return "\\\\x" + v.hex()
    return str(v)


# ---------------------------------------------------------------- check-format
def check_format(db, target, token):
    assert token.startswith("tsr_") and len(token) == 79, f"token format changed: {token[:8]}... len {len(token)}"
    raw = b64u_dec(token[4:])
    assert len(raw) == 56, "token body is not 56 bytes"
    sid, gen = b64u(raw[:16]), int.from_bytes(raw[16:24], "big")
    want = hashlib.sha256(raw).digest()
    if db == "sqlite":
        con = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        row = con.execute("SELECT user_id, token_hash, generation FROM sessions WHERE id = ?", (sid,)).fetchone()
        con.close()
        if row is None:
            sys.exit(f"no session {sid}: the token's first 16 bytes are no longer the session id")
        user, stored, sgen = row[0], bytes(row[1]), row[2]
    else:
        out = psql(target, f"SELECT user_id, encode(token_hash, 'hex'), generation FROM sessions WHERE id = '{sid}'")
        if not out.strip():
            sys.exit(f"no session {sid}: the token's first 16 bytes are no longer the session id")
        user, hexhash, sgen = out.strip().split("|")
        stored, sgen = bytes.fromhex(hexhash), int(sgen)
    if stored != want:
        sys.exit("stored token_hash is not SHA-256(raw token): the server's hash changed "
                 "(keyed by the server secret?); update seed.py's session_token()")
    if sgen != gen:
        sys.exit(f"generation {gen} in the token, {sgen} in the row")
    print(user)


# ---------------------------------------------------------------- seed
def plan(n_sessions, n_users, pool):
    """Which user each session belongs to, and which sessions are sampled."""
    rng = random.Random()
    owners = [rng.randrange(n_users) for _ in range(n_sessions)]
    picked = rng.sample(range(n_sessions), min(n_sessions, pool + 1))
    return owners, picked


def times(now, ttl, idle, rng):
    """created, last used, expires, idle expires: live, spread over half an
    idle period (and within the lifetime)."""
    span = max(1, min(ttl, idle) // 2)
    created = now - rng.randrange(span)
    used = created + rng.randrange(now - created + 1)
    return created, used, created + ttl, used + idle


def seed(db, target, template_uid, n_sessions, n_users, pool, pool_file, check_file):
    t0 = time.time()
    now = int(time.time())
    rng = random.Random()
    owners, picked = plan(n_sessions, n_users, pool)
    picked_at = {p: i for i, p in enumerate(picked)}
    sampled = [None] * len(picked)
    user_ids = [template_uid] + [b64u(os.urandom(16)) for _ in range(n_users - 1)]

    if db == "sqlite":
        con = sqlite3.connect(target, isolation_level=None)
        cur = con.execute("SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at DESC LIMIT 1",
                          (template_uid,))
        scols = [d[0] for d in cur.description]
        srow = cur.fetchone()
        cur = con.execute("SELECT * FROM users WHERE id = ?", (template_uid,))
        ucols = [d[0] for d in cur.description]
        urow = cur.fetchone()
    else:
        con = None
        srow_t = psql(target, f"SELECT id FROM sessions WHERE user_id = '{template_uid}' "
                              "ORDER BY created_at DESC LIMIT 1").strip()
        stmpl = pg_row(target, "sessions", "id", srow_t)
        utmpl = pg_row(target, "users", "id", template_uid)
        scols, ucols = list(stmpl), list(utmpl)
        srow, urow = list(stmpl.values()), list(utmpl.values())
    if srow is None or urow is None:
        sys.exit(f"no session or user row for {template_uid}")
    st = dict(zip(scols, srow))
    for k in ("created_at", "last_used_at", "expires_at", "idle_expires_at"):
        st[k] = int(st[k])
    ttl = st["expires_at"] - st["created_at"]
    idle = st["idle_expires_at"] - st["last_used_at"]
    log(f"{db}: template session lifetime {ttl} s, idle {idle} s; {n_sessions:,} sessions over "
        f"{n_users:,} users")

    # Per-user last login (the trigger's effect, written directly).
    last_login = [0] * n_users

    def session_rows():
        for base in range(0, n_sessions, CHUNK):
            k = min(CHUNK, n_sessions - base)
            rnd = os.urandom(48 * k)
            out = []
            for j in range(k):
                i = base + j
                sid, secret = rnd[48 * j:48 * j + 16], rnd[48 * j + 16:48 * j + 48]
                tok, h = session_token(sid, 0, secret)
                owner = owners[i]
                created, used, exp, iexp = times(now, ttl, idle, rng)
                if created > last_login[owner]:
                    last_login[owner] = created
                if i in picked_at:
                    sampled[picked_at[i]] = (tok, user_ids[owner])
                r = dict(st)
                r.update(id=b64u(sid), user_id=user_ids[owner], created_at=created, last_used_at=used,
                         expires_at=exp, idle_expires_at=iexp, generation=0, token_hash=h,
                         rotated_at=None, revoked_at=None, revoked_reason=None)
                if "rotated_by" in r:
                    r["rotated_by"] = None
                if "auth_time" in r:
                    r["auth_time"] = created
                out.append(r)
            yield out

    def user_row(i):
        u = dict(zip(ucols, urow))
        u.update(id=user_ids[i], email=f"bench-scale-{i}-{user_ids[i][:6].lower()}@example.com",
                 created_at=now - idle)
        if "last_login_at" in u:
            u["last_login_at"] = last_login[i] or None
        return u

    if db == "sqlite":
        seed_sqlite(con, scols, ucols, session_rows, user_row, n_users, last_login, template_uid)
    else:
        seed_postgres(target, scols, ucols, session_rows, user_row, n_users, last_login, template_uid)

    with open(pool_file, "w") as f:
        f.write("\n".join(t for t, _ in sampled[:-1]) + "\n")
    with open(check_file, "w") as f:
        f.write(f"{sampled[-1][0]} {sampled[-1][1]}\n{user_row(n_users - 1)['email']}\n")
    log(f"{db}: {n_sessions:,} sessions and {n_users - 1:,} users in {time.time() - t0:.1f} s; "
        f"pool of {len(sampled) - 1} tokens")


def seed_sqlite(con, scols, ucols, session_rows, user_row, n_users, last_login, template_uid):
    mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal", f"the server's database is in {mode} mode, not wal"
    # Bulk load: no rollback journal and no fsync (a failed load is thrown
    # away with the rest of the run), a large page cache for the indexes.
    assert con.execute("PRAGMA journal_mode = OFF").fetchone()[0] == "off"
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1048576")
    con.execute("PRAGMA temp_store = MEMORY")
    trig = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                       "AND tbl_name = 'sessions'").fetchall()
    con.execute("BEGIN")
    for name, _ in trig:
        con.execute(f'DROP TRIGGER "{name}"')
    sql = (f"INSERT INTO sessions ({', '.join(scols)}) VALUES ({', '.join('?' * len(scols))})")
    for chunk in session_rows():
        con.executemany(sql, ([r[c] for c in scols] for r in chunk))
    usql = f"INSERT INTO users ({', '.join(ucols)}) VALUES ({', '.join('?' * len(ucols))})"
    con.executemany(usql, ([u[c] for c in ucols] for u in map(user_row, range(1, n_users))))
    if "last_login_at" in ucols and last_login[0]:
        con.execute("UPDATE users SET last_login_at = ? WHERE id = ? AND "
                    "(last_login_at IS NULL OR last_login_at < ?)",
                    (last_login[0], template_uid, last_login[0]))
    for _, tsql in trig:
        con.execute(tsql)
    con.execute("COMMIT")
    # Back to what the server set up: WAL (persistent, in the file header).
    assert con.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    after = {n: s for n, s in con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                          "AND tbl_name = 'sessions'")}
    assert after == dict(trig), "triggers not restored"
    con.close()


def seed_postgres(url, scols, ucols, session_rows, user_row, n_users, last_login, template_uid):
    def copy(table, cols):
        return subprocess.Popen(
            ["psql", "-qX", "-v", "ON_ERROR_STOP=1", url, "-c", "SET session_replication_role = replica",
             "-c", f"COPY {table} ({', '.join(cols)}) FROM STDIN"],
            stdin=subprocess.PIPE)

    # Sessions first (users' last logins are known after), streamed.
    p = copy("sessions", scols)
    for chunk in session_rows():
        buf = []
        for r in chunk:
            buf.append("\t".join(pg_field(r, c) for c in scols))
        p.stdin.write(("\n".join(buf) + "\n").encode())
    p.stdin.close()
    if p.wait() != 0:
        sys.exit("COPY sessions failed")
    p = copy("users", ucols)
    lines = ["\t".join(pg_field(u, c) for c in ucols) for u in map(user_row, range(1, n_users))]
    p.stdin.write(("\n".join(lines) + "\n").encode() if lines else b"")
    p.stdin.close()
    if p.wait() != 0:
        sys.exit("COPY users failed")
    if "last_login_at" in ucols and last_login[0]:
        psql(url, f"UPDATE users SET last_login_at = {last_login[0]} WHERE id = '{template_uid}' "
                  f"AND (last_login_at IS NULL OR last_login_at < {last_login[0]})")
    # What autovacuum would have done to a table this size: statistics, and
    # the visibility map and hint bits (else the first reads write them).
    psql(url, "VACUUM (ANALYZE) sessions", "VACUUM (ANALYZE) users")


# Fields that hold the template's COPY text (strings from pg_row) pass through;
# everything the seeder sets is a Python int/bytes/None/str of its own.
_OWN = {"id", "user_id", "created_at", "last_used_at", "expires_at", "idle_expires_at", "generation",
        "token_hash", "rotated_at", "revoked_at", "revoked_reason", "rotated_by", "auth_time",
        "email", "last_login_at"}


def pg_field(r, c):
    v = r[c]
    if c in _OWN:
        return pg_text(v)
    return v  # the template's own COPY text, unchanged


# ---------------------------------------------------------------- verify
def post_json(url, body, headers=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read())


def verify(base, check_file):
    tok, uid, _ = open(check_file).read().split()
    try:
        st, body = post_json(f"{base}/v1/auth/refresh", {"refresh_token": tok})
    except urllib.error.HTTPError as e:
        sys.exit(f"seeded token refused: {e.code} {e.read()[:200]!r}")
    nxt = body["refresh_token"]
    raw0, raw1 = b64u_dec(tok[4:]), b64u_dec(nxt[4:])
    assert raw1[:16] == raw0[:16] and int.from_bytes(raw1[16:24], "big") == 1, "successor of another session?"
    req = urllib.request.Request(f"{base}/v1/me")
    req.add_header("Authorization", f"Bearer {body['access_token']}")
    with urllib.request.urlopen(req, timeout=30) as r:
        me = json.loads(r.read())
    assert me["id"] == uid, f"/v1/me says {me['id']}, the seeded session belongs to {uid}"
    print(f"seeded token accepted: rotated to generation 1, /v1/me is user {uid}")


def logins(base, check_file, password, n):
    """n logins of a seeded account, 4 at a time (every Argon2 worker busy)."""
    import concurrent.futures as cf
    email = open(check_file).read().split()[2]

    def one(_):
        try:
            return post_json(f"{base}/v1/auth/login", {"email": email, "password": password})[0]
        except urllib.error.HTTPError as e:
            return e.code

    with cf.ThreadPoolExecutor(4) as ex:
        codes = list(ex.map(one, range(n)))
    if any(c != 200 for c in codes):
        sys.exit(f"logins of the seeded account {email}: {codes}")
    print(f"{n} logins of the seeded account {email}: 200")


# ---------------------------------------------------------------- launch
def launch(out, url, argv):
    t0 = time.monotonic()
    if os.fork() == 0:
        # The poller (a new session, so the server's signals do not reach it).
        os.setsid()
        deadline = t0 + 60
        res = "timeout"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        res = f"{(time.monotonic() - t0) * 1000:.1f}"
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.005)
        with open(out + ".tmp", "w") as f:
            f.write(res + "\n")
        os.rename(out + ".tmp", out)
        os._exit(0)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    cmd, *a = sys.argv[1:]
    if cmd == "check-format":
        check_format(a[0], a[1], a[2])
    elif cmd == "seed":
        seed(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]), a[6], a[7])
    elif cmd == "verify":
        verify(a[0], a[1])
    elif cmd == "logins":
        logins(a[0], a[1], a[2], int(a[3]))
    elif cmd == "launch":
        launch(a[0], a[1], a[2:])
    else:
        sys.exit(f"unknown command {cmd}")
