#!/usr/bin/env python3
"""Setup traffic for the glewlwyd peer of bench/run.sh (not measured).
Standard library only.

  configure <base> <client_secret> <user_password> <key.pem> <pub.pem> <plugin.json> <pbkdf2_iterations>
      Through the admin REST API (session cookie of the package's initial
      administrator, admin/password, from init.sqlite3.sql): the client
      database module's PBKDF2 iteration count, a scope `api` (password
      required), a user `bench` (password login), the OIDC plugin instance
      `oidc` (bench/glewlwyd/oidc-plugin.json, ES256 key filled in) and a
      confidential client `bench` (client_secret_basic; authorization_code,
      refresh_token and client_credentials; scope api).
  tokens <base> <client_secret> <user_password> <n> <out>
      One password login of `bench` (POST /api/auth/), its consent for the
      client (PUT /api/auth/grant/bench), then n authorization-code flows with
      PKCE (GET /api/oidc/auth ... g_continue, as the login page does after
      "Continue"; then POST /api/oidc/token): n refresh tokens, one chain each.
  check-rotation <base> <client_secret> <user_password>
      On a chain of its own (not one of the run's): a refresh answers with a
      new refresh token, the old one is refused afterwards (and, glewlwyd's
      reuse detection, its successor too). Exits non-zero otherwise.
  count <db>
      Prints the refresh-token rows (every rotation inserts one) and how many
      are enabled, as JSON.

<base> is http://127.0.0.1:<port> (the API lives under /api)."""

import base64
import concurrent.futures as cf
import hashlib
import http.cookiejar
import json
import secrets
import sqlite3
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

REDIRECT = "http://127.0.0.1:9/cb"
CLIENT_ID = "bench"
USERNAME = "bench"
SCOPE = "openid api"
ADMIN = ("admin", "password")  # the package's init.sqlite3.sql


class _Redirect(Exception):
    def __init__(self, url):
        super().__init__(url)
        self.url = url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise _Redirect(newurl)


class Session:
    """A cookie session against glewlwyd's API; redirects are returned, not followed."""

    def __init__(self, base):
        self.api = base.rstrip("/") + "/api"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def call(self, method, path, body=None, ok=(200,)):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(req, timeout=60) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        if status not in ok:
            sys.exit(f"glewlwyd: {method} {path} -> {status} {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def redirect_of(self, path):
        try:
            self.call("GET", path, ok=())
        except _Redirect as r:
            return r.url
        sys.exit(f"glewlwyd: GET {path} did not redirect")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token_request(base, client_secret, form):
    """POST /api/oidc/token with client_secret_basic; returns (status, json or text)."""
    req = urllib.request.Request(base.rstrip("/") + "/api/oidc/token",
                                 data=urllib.parse.urlencode(form).encode(), method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    basic = base64.b64encode(f"{CLIENT_ID}:{client_secret}".encode()).decode()
    req.add_header("Authorization", f"Basic {basic}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def configure(base, client_secret, user_password, key_file, pub_file, plugin_file, iterations):
    s = Session(base)
    s.call("POST", "/auth/", {"username": ADMIN[0], "password": ADMIN[1]})
    # Client secrets: glewlwyd's database client module stores them as
    # PBKDF2-SHA256 with 150000 iterations by default and derives one on every
    # client authentication (each token request). The iteration count is the
    # module's `pbkdf2-iterations` parameter; set before the client is made.
    mod = s.call("GET", "/mod/client/database")
    mod["parameters"]["pbkdf2-iterations"] = int(iterations)
    s.call("PUT", "/mod/client/database", mod)
    s.call("PUT", "/mod/client/database/reset")
    s.call("POST", "/scope/", {
        "name": "api", "display_name": "API", "description": "bench/run.sh API scope",
        "password_required": True, "password_max_age": 0, "scheme": {},
    })
    s.call("POST", "/user/", {
        "username": USERNAME, "password": user_password, "name": "Bench",
        "email": "bench@example.com", "enabled": True, "scope": ["openid", "api", "g_profile"],
    })
    plugin = json.load(open(plugin_file))
    p = plugin["parameters"]
    p["iss"] = base.rstrip("/") + "/api/oidc"
    p["key"] = open(key_file).read()
    p["cert"] = open(pub_file).read()
    s.call("POST", "/mod/plugin/", plugin)
    s.call("POST", "/client/", {
        "client_id": CLIENT_ID, "name": "bench", "password": client_secret,
        "confidential": True, "enabled": True,
        "authorization_type": ["code", "refresh_token", "client_credentials"],
        "redirect_uri": [REDIRECT], "token_endpoint_auth_method": ["client_secret_basic"],
        "scope": ["api"],
    })
    # Read back what the server keeps, so a typo in a parameter name shows.
    got = s.call("GET", "/mod/plugin/oidc")["parameters"]
    for k in ("access-token-duration", "refresh-token-duration", "refresh-token-one-use",
              "refresh-token-rolling", "jwt-type", "jwt-key-size"):
        if got.get(k) != p[k]:
            sys.exit(f"glewlwyd: plugin parameter {k} is {got.get(k)!r}, wanted {p[k]!r}")
    print(json.dumps({k: got[k] for k in ("access-token-duration", "refresh-token-duration",
                                          "refresh-token-one-use", "refresh-token-rolling",
                                          "jwt-type", "jwt-key-size")}))


def login(base, user_password):
    s = Session(base)
    s.call("POST", "/auth/", {"username": USERNAME, "password": user_password})
    s.call("PUT", f"/auth/grant/{CLIENT_ID}", {"scope": SCOPE})
    return s


_lock = threading.Lock()


def code_flow(s, base, client_secret):
    verifier = b64u(secrets.token_bytes(32))
    q = urllib.parse.urlencode({
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
        "scope": SCOPE, "state": secrets.token_hex(8), "nonce": secrets.token_hex(8),
        "code_challenge": b64u(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    })
    with _lock:  # one cookie session shared by the worker threads
        loc = s.redirect_of(f"/oidc/auth?g_continue&{q}")
    if not loc.startswith(REDIRECT):
        sys.exit(f"glewlwyd: authorization went to {loc} (login needed?)")
    params = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
    if "code" not in params:
        sys.exit(f"glewlwyd: authorization failed: {loc}")
    st, tok = token_request(base, client_secret, {
        "grant_type": "authorization_code", "code": params["code"][0],
        "redirect_uri": REDIRECT, "code_verifier": verifier,
    })
    if st != 200 or "refresh_token" not in tok:
        sys.exit(f"glewlwyd: code exchange -> {st} {tok}")
    return tok["refresh_token"]


def tokens(base, client_secret, user_password, n, out):
    s = login(base, user_password)
    with cf.ThreadPoolExecutor(4) as ex:
        toks = list(ex.map(lambda _: code_flow(s, base, client_secret), range(n)))
    if len(set(toks)) != n:
        sys.exit("glewlwyd: duplicate refresh tokens")
    with open(out, "w") as f:
        f.write("\n".join(toks) + "\n")


def check_rotation(base, client_secret, user_password):
    s = login(base, user_password)
    rt0 = code_flow(s, base, client_secret)
    st, t1 = token_request(base, client_secret, {"grant_type": "refresh_token", "refresh_token": rt0})
    if st != 200 or not t1.get("refresh_token") or t1["refresh_token"] == rt0:
        sys.exit(f"glewlwyd: refresh did not rotate: {st} {t1}")
    rt1 = t1["refresh_token"]
    st, t2 = token_request(base, client_secret, {"grant_type": "refresh_token", "refresh_token": rt1})
    if st != 200 or not t2.get("refresh_token") or t2["refresh_token"] in (rt0, rt1):
        sys.exit(f"glewlwyd: second refresh did not rotate: {st} {t2}")
    st_old, _ = token_request(base, client_secret, {"grant_type": "refresh_token", "refresh_token": rt1})
    if st_old == 200:
        sys.exit("glewlwyd: a used refresh token was accepted again (rotation off?)")
    st_new, _ = token_request(base, client_secret,
                              {"grant_type": "refresh_token", "refresh_token": t2["refresh_token"]})
    print(json.dumps({"rotates": True, "old_token_status": st_old,
                      "successor_after_reuse_status": st_new,
                      "access_expires_in": t2.get("expires_in")}))


def count(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    total, enabled = con.execute(
        "SELECT count(*), coalesce(sum(gpor_enabled), 0) FROM gpo_refresh_token").fetchone()
    access = con.execute("SELECT count(*) FROM gpo_access_token").fetchone()[0]
    con.close()
    print(json.dumps({"refresh_rows": total, "refresh_enabled": enabled, "access_rows": access}))


if __name__ == "__main__":
    cmd, *a = sys.argv[1:]
    if cmd == "configure":
        configure(*a)
    elif cmd == "tokens":
        tokens(a[0], a[1], a[2], int(a[3]), a[4])
    elif cmd == "check-rotation":
        check_rotation(*a)
    elif cmd == "count":
        count(a[0])
    else:
        sys.exit(f"unknown command {cmd}")
