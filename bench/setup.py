#!/usr/bin/env python3
"""Setup traffic for bench/run.sh (not measured): accounts, logins, clients,
bulk sessions, and the peer's refresh tokens. Standard library only."""

import base64
import concurrent.futures as cf
import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def post_json(url, body, headers=None):
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=60) as r:
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)


def wait_ready(url, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    sys.exit(f"not ready: {url}")


def users(base, n, password, out):
    """Registers n accounts (bench-<i>@example.com) and writes their emails."""
    emails = [f"bench-{i}-{secrets.token_hex(4)}@example.com" for i in range(n)]

    def reg(e):
        st, _ = post_json(f"{base}/v1/auth/register", {"email": e, "password": password})
        assert st == 201, st

    with cf.ThreadPoolExecutor(4) as ex:
        list(ex.map(reg, emails))
    with open(out, "w") as f:
        f.write("\n".join(emails) + "\n")


def logins(base, emails_file, n, password, out_access, out_refresh):
    """n logins, round robin over the accounts: one session each."""
    emails = [l.strip() for l in open(emails_file) if l.strip()]

    def one(i):
        st, body = post_json(
            f"{base}/v1/auth/login", {"email": emails[i % len(emails)], "password": password}
        )
        assert st == 200, st
        return body["access_token"], body["refresh_token"]

    with cf.ThreadPoolExecutor(4) as ex:
        pairs = list(ex.map(one, range(n)))
    with open(out_access, "w") as f:
        f.write("\n".join(a for a, _ in pairs) + "\n")
    with open(out_refresh, "w") as f:
        f.write("\n".join(r for _, r in pairs) + "\n")


def client_logins(base, emails_file, n, password, client, secret, out_refresh):
    """n password-grant logins at /oauth2/token by a confidential client
    (client_secret_basic), round robin over the accounts: one session each,
    bound to the client (its refresh tokens refresh only with it)."""
    emails = [l.strip() for l in open(emails_file) if l.strip()]
    basic = base64.b64encode(f"{client}:{secret}".encode()).decode()

    def one(i):
        form = urllib.parse.urlencode({"grant_type": "password",
                                       "username": emails[i % len(emails)],
                                       "password": password}).encode()
        req = urllib.request.Request(f"{base}/oauth2/token", data=form, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200, r.status
            return json.loads(r.read())["refresh_token"]

    with cf.ThreadPoolExecutor(4) as ex:
        toks = list(ex.map(one, range(n)))
    with open(out_refresh, "w") as f:
        f.write("\n".join(toks) + "\n")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def bulk_sessions(db, target, user_id, n, out_refresh):
    """Inserts n live sessions of one user straight into the database, each
    with a fresh first refresh token (the same format and hash Tessera uses:
    tsr_ + b64url(sid16 || gen8 || secret32), stored as SHA-256 of the raw
    bytes), and writes the tokens. db is 'sqlite' (target: file) or
    'postgres' (target: URL)."""
    now = int(time.time())
    rows, toks = [], []
    for _ in range(n):
        sid = secrets.token_bytes(16)
        raw = sid + (0).to_bytes(8, "big") + secrets.token_bytes(32)
        toks.append("tsr_" + b64u(raw))
        rows.append((b64u(sid), user_id, now, now, now + 30 * 86400, now + 7 * 86400,
                     None, None, "bench", "127.0.0.1", 0, hashlib.sha256(raw).digest(), None))
    if db == "sqlite":
        con = sqlite3.connect(target, timeout=30)
        con.executemany(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, "
            "idle_expires_at, revoked_at, revoked_reason, user_agent, ip, generation, "
            "token_hash, rotated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        con.commit()
        con.close()
    else:
        lines = []
        for r in rows:
            vals = [r[0], r[1], str(r[2]), str(r[3]), str(r[4]), str(r[5]), "\\N", "\\N",
                    r[8], r[9], str(r[10]), "\\\\x" + r[11].hex(), "\\N"]
            lines.append("\t".join(vals))
        copy = ("COPY sessions (id, user_id, created_at, last_used_at, expires_at, "
                "idle_expires_at, revoked_at, revoked_reason, user_agent, ip, generation, "
                "token_hash, rotated_at) FROM STDIN\n" + "\n".join(lines) + "\n\\.\n")
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", target], input=copy.encode(),
                       check=True)
    with open(out_refresh, "w") as f:
        f.write("\n".join(toks) + "\n")


class _StopAtCallback(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if newurl.startswith(PEER_REDIRECT):
            raise _Callback(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Callback(Exception):
    pass


PEER_REDIRECT = "http://127.0.0.1:9/cb"


def peer_one_token(base, client_secret):
    """One real authorization-code flow against the peer (its interaction
    auto-logs-in a new account and consents), then the code for tokens."""
    import http.cookiejar
    import urllib.parse

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _StopAtCallback)
    verifier = b64u(secrets.token_bytes(32))
    challenge = b64u(hashlib.sha256(verifier.encode()).digest())
    q = urllib.parse.urlencode({
        "client_id": "bench", "response_type": "code", "redirect_uri": PEER_REDIRECT,
        "scope": "offline_access api", "prompt": "consent", "resource": "urn:bench:api",
        "code_challenge": challenge, "code_challenge_method": "S256",
        "state": secrets.token_hex(8),
    })
    try:
        opener.open(f"{base}/auth?{q}", timeout=30).read()
        raise SystemExit("peer: authorization flow did not reach the callback")
    except _Callback as cb:
        code = urllib.parse.parse_qs(urllib.parse.urlparse(str(cb)).query)["code"][0]
    body = urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": code, "redirect_uri": PEER_REDIRECT,
        "code_verifier": verifier, "resource": "urn:bench:api",
    }).encode()
    req = urllib.request.Request(f"{base}/token", data=body, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    basic = base64.b64encode(f"bench:{client_secret}".encode()).decode()
    req.add_header("Authorization", f"Basic {basic}")
    with urllib.request.urlopen(req, timeout=30) as r:
        tok = json.loads(r.read())
    return tok["refresh_token"]


def peer_tokens(base, client_secret, n, out_refresh):
    with cf.ThreadPoolExecutor(4) as ex:
        toks = list(ex.map(lambda _: peer_one_token(base, client_secret), range(n)))
    with open(out_refresh, "w") as f:
        f.write("\n".join(toks) + "\n")


def churn(base, password, duration, out):
    """A registration and a login every 10 s for duration seconds (the soak's
    background traffic); every non-2xx or failed request is counted."""
    deadline = time.time() + float(duration)
    stats = {"registrations": 0, "logins": 0, "errors": 0, "codes": {}}

    def count(kind, fn):
        try:
            fn()
            stats[kind] += 1
        except urllib.error.HTTPError as e:
            stats["errors"] += 1
            stats["codes"][f"s{e.code}"] = stats["codes"].get(f"s{e.code}", 0) + 1
        except (urllib.error.URLError, OSError) as e:
            stats["errors"] += 1
            stats["codes"]["socket"] = stats["codes"].get("socket", 0) + 1

    while time.time() < deadline:
        t0 = time.time()
        email = f"soak-{secrets.token_hex(6)}@example.com"
        count("registrations", lambda: post_json(f"{base}/v1/auth/register",
                                                 {"email": email, "password": password}))
        count("logins", lambda: post_json(f"{base}/v1/auth/login",
                                          {"email": email, "password": password}))
        time.sleep(max(0.0, min(10.0 - (time.time() - t0), deadline - time.time())))
    with open(out, "w") as f:
        json.dump(stats, f)


if __name__ == "__main__":
    cmd, *a = sys.argv[1:]
    if cmd == "wait":
        wait_ready(a[0])
    elif cmd == "users":
        users(a[0], int(a[1]), a[2], a[3])
    elif cmd == "logins":
        logins(a[0], a[1], int(a[2]), a[3], a[4], a[5])
    elif cmd == "client-logins":
        client_logins(a[0], a[1], int(a[2]), a[3], a[4], a[5], a[6])
    elif cmd == "bulk-sessions":
        bulk_sessions(a[0], a[1], a[2], int(a[3]), a[4])
    elif cmd == "churn":
        churn(a[0], a[1], a[2], a[3])
    elif cmd == "peer-tokens":
        peer_tokens(a[0], a[1], int(a[2]), a[3])
    else:
        sys.exit(f"unknown command {cmd}")
