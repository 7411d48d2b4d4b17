"""Python authlib as an OpenID Connect public client (PKCE S256) against
Tessera: discovery, the hosted login and consent pages driven as plain form
POSTs (no JavaScript), the code exchange, the ID token checked against the
JWKS (signature, iss, aud, nonce, at_hash), userinfo, refresh, and
RP-initiated logout (after which the tokens are dead).

usage: authlib_oidc.py BASE CLIENT_ID EMAIL PASSWORD
(the client: --public --redirect-uri http://127.0.0.1/cb
 --post-logout-redirect-uri http://127.0.0.1/bye --grant authorization_code
 --grant refresh_token; the user registered with that password)"""
import html
import re
import secrets
import sys
import warnings
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

# authlib.jose is deprecated in favour of joserfc, but CodeIDToken (nonce and
# at_hash checks) still lives on it.
import authlib.deprecate  # noqa: E402 (it installs an "always" filter first)

warnings.filterwarnings("ignore", category=authlib.deprecate.AuthlibDeprecationWarning)
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

base, client_id, email, password = sys.argv[1:5]
passed = 0

meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
assert meta["issuer"] == base, meta
assert meta["code_challenge_methods_supported"] == ["S256"], meta
assert meta["authorization_response_iss_parameter_supported"] is True, meta
assert "code" in meta["response_types_supported"], meta
passed += 1

# A native app's loopback redirect on an ephemeral port (RFC 8252 §7.3).
redirect_uri = f"http://127.0.0.1:{secrets.randbelow(20000) + 40000}/cb"
client = OAuth2Session(
    client_id,
    redirect_uri=redirect_uri,
    scope="openid email offline_access",
    code_challenge_method="S256",
    token_endpoint_auth_method="none",
)
verifier = generate_token(64)
nonce = generate_token(20)
url, state = client.create_authorization_url(
    meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
)

browser = requests.Session()


def form_fields(page: str, form_id: str) -> dict:
    m = re.search(rf'<form id="{form_id}"[^>]*>(.*?)</form>', page, re.S)
    assert m, f"no {form_id} in the page:\n{page[:2000]}"
    return {
        html.unescape(n): html.unescape(v)
        for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', m.group(1))
    }


# The login page, posted as a plain form.
r = browser.get(url, allow_redirects=False, timeout=10)
assert r.status_code == 200 and "login-form" in r.text, (r.status_code, r.text[:500])
fields = form_fields(r.text, "login-form")
assert fields.get("csrf"), fields
wrong = browser.post(
    f"{base}/oauth2/login",
    data={**fields, "email": email, "password": "not the password"},
    allow_redirects=False,
    timeout=10,
)
assert wrong.status_code in (200, 400, 401) and "login-form" in wrong.text, wrong.status_code
fields = form_fields(wrong.text, "login-form")
r = browser.post(
    f"{base}/oauth2/login",
    data={**fields, "email": email, "password": password},
    allow_redirects=False,
    timeout=10,
)
# Not first-party: the consent page lists the scopes.
if r.status_code == 200 and "consent-form" in r.text:
    assert 'data-scope="email"' in r.text, r.text[:2000]
    fields = form_fields(r.text, "consent-form")
    r = browser.post(
        f"{base}/oauth2/consent",
        data={**fields, "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
assert r.status_code in (302, 303), (r.status_code, r.text[:500])
location = r.headers["Location"]
assert location.startswith(redirect_uri + "?"), location
answer = parse_qs(urlsplit(location).query)
assert answer["state"] == [state], answer
assert answer["iss"] == [base], answer
passed += 1

# The exchange (authlib checks state; PKCE verifier sent).
tok = client.fetch_token(
    meta["token_endpoint"], authorization_response=location, code_verifier=verifier
)
assert tok["token_type"].lower() == "bearer" and tok["refresh_token"].startswith("tsr_"), tok
passed += 1

# The ID token: signature against the JWKS, iss, aud, nonce, at_hash.
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
claims = jwt.decode(
    tok["id_token"],
    jwks,
    claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": base}},
    claims_params={"nonce": nonce, "client_id": client_id, "access_token": tok["access_token"]},
)
claims.validate()
assert claims["at_hash"], claims
assert claims["email"] == email and claims["aud"] == client_id, claims
forged = tok["id_token"][:-4] + ("AAAA" if not tok["id_token"].endswith("AAAA") else "BBBB")
try:
    jwt.decode(forged, jwks)
except Exception:
    pass
else:
    raise SystemExit("a forged ID token verified")
passed += 1

# Userinfo, by scope.
r = client.get(meta["userinfo_endpoint"])
assert r.status_code == 200, (r.status_code, r.text)
info = r.json()
assert info == {"sub": claims["sub"], "email": email, "email_verified": info["email_verified"]}, info
passed += 1

# Refresh (a public client: client_id in the body, no secret).
old = tok["refresh_token"]
new = client.refresh_token(meta["token_endpoint"], refresh_token=old)
assert new["refresh_token"] != old and new["access_token"] != tok["access_token"], new
assert client.get(meta["userinfo_endpoint"]).status_code == 200
passed += 1

# RP-initiated logout with the ID token as hint: back to the registered URI
# with state; the SSO session and the client's tokens are dead.
q = urlencode(
    {
        "id_token_hint": tok["id_token"],
        "client_id": client_id,
        "post_logout_redirect_uri": "http://127.0.0.1/bye",
        "state": "bye-state",
    }
)
r = browser.get(f"{meta['end_session_endpoint']}?{q}", allow_redirects=False, timeout=10)
if r.status_code == 200 and "logout-form" in r.text:
    r = browser.post(
        meta["end_session_endpoint"],
        data=form_fields(r.text, "logout-form"),
        allow_redirects=False,
        timeout=10,
    )
assert r.status_code in (302, 303), (r.status_code, r.text[:500])
assert r.headers["Location"] == "http://127.0.0.1/bye?state=bye-state", r.headers["Location"]
assert client.get(meta["userinfo_endpoint"]).status_code == 401
dead = requests.post(
    meta["token_endpoint"],
    data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"], "client_id": client_id},
    timeout=10,
)
assert dead.status_code == 400, dead.text
# Signed out: a new authorization needs the password again.
url2, _ = client.create_authorization_url(
    meta["authorization_endpoint"], code_verifier=generate_token(64), nonce=generate_token(20)
)
r = browser.get(url2, allow_redirects=False, timeout=10)
assert r.status_code == 200 and "login-form" in r.text, r.status_code
passed += 1

# A replay of the code is refused (were the session alive, it would end).
replay = requests.post(
    meta["token_endpoint"],
    data={
        "grant_type": "authorization_code",
        "code": answer["code"][0],
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    },
    timeout=10,
)
assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
passed += 1

print(f"authlib OIDC: {passed} passed, 0 failed")
