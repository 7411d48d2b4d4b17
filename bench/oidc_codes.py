#!/usr/bin/env python3
"""Authorization codes for bench/run.sh code_exchange (setup, not measured).
Standard library only.

usage: oidc_codes.py BASE CLIENT_ID REDIRECT_URI EMAIL PASSWORD N OUT

Signs in once through the hosted login page (GET /oauth2/authorize, then the
login form POSTed with its CSRF field and cookie: the client is first-party,
so no consent page), keeps the SSO cookie, then makes N authorization
requests with that cookie (no password), each with its own PKCE verifier,
in parallel over keep-alive connections. Writes N lines "code verifier" to
OUT. Codes are single-use and live 60 s: make them right before the run."""

import base64
import concurrent.futures as cf
import hashlib
import html
import http.client
import re
import secrets
import sys
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

base, client_id, redirect_uri, email, password, n, out = sys.argv[1:8]
n = int(n)
host = urlsplit(base)
jar = {}


def request(conn, method, path, body=None, headers=None):
    h = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    return r, data.decode("utf-8", "replace")


def keep_cookies(r):
    for c in r.headers.get_all("Set-Cookie") or []:
        name, _, rest = c.split(";", 1)[0].partition("=")
        jar[name.strip()] = rest.strip()


def pkce():
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_path(challenge):
    q = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid email offline_access",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return "/oauth2/authorize?" + urlencode(q)


def code_of(r):
    loc = r.headers.get("Location") or ""
    assert r.status in (302, 303) and loc.startswith(redirect_uri + "?"), (r.status, loc)
    return parse_qs(urlsplit(loc).query)["code"][0]


def conn():
    return http.client.HTTPConnection(host.hostname, host.port, timeout=60)


# One sign-in through the hosted page: the SSO cookie.
c0 = conn()
r, page = request(c0, "GET", authorize_path(pkce()[1]))
keep_cookies(r)
m = re.search(r'<form id="login-form"[^>]*>(.*?)</form>', page, re.S)
assert r.status == 200 and m, (r.status, page[:500])
fields = {
    html.unescape(k): html.unescape(v)
    for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', m.group(1))
}
r, _ = request(
    c0,
    "POST",
    "/oauth2/login",
    urlencode({**fields, "email": email, "password": password}),
    {"Content-Type": "application/x-www-form-urlencoded"},
)
keep_cookies(r)
code_of(r)  # the login itself ends in a code (unused)

# N codes with the SSO cookie, over keep-alive connections.
local = threading.local()


def mint(_):
    if not hasattr(local, "conn"):
        local.conn = conn()
    verifier, challenge = pkce()
    r, _ = request(local.conn, "GET", authorize_path(challenge))
    return f"{code_of(r)} {verifier}"


t0 = time.time()
with cf.ThreadPoolExecutor(8) as ex:
    lines = list(ex.map(mint, range(n), chunksize=64))
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"[bench] {n} authorization codes in {time.time() - t0:.1f} s", file=sys.stderr)
