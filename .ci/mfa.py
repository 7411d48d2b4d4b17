"""MFA against a live Tessera, with pyotp as the independent TOTP and PyJWT
(against the live JWKS) reading the tokens.

Usage: mfa.py BASE_URL. The server runs with mfa_token_ttl=4s.
"""
import sys
import time
import uuid

import jwt
import pyotp
import requests
from jwt import PyJWKClient

BASE = sys.argv[1]
PW = "correct horse battery staple"
JWKS = PyJWKClient(f"{BASE}/.well-known/jwks.json")
passed = 0


def check(cond, what, r=None):
    global passed
    if not cond:
        extra = f": {r.status_code} {r.text}" if r is not None else ""
        raise SystemExit(f"FAIL: {what}{extra}")
    passed += 1
    print(f"ok - {what}")


def post(path, body=None, token=None):
    h = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{BASE}{path}", json=body if body is not None else {}, headers=h, timeout=30)


def claims(token):
    key = JWKS.get_signing_key_from_jwt(token)
    alg = jwt.get_unverified_header(token)["alg"]
    return jwt.decode(token, key.key, algorithms=[alg], audience="tessera", issuer=BASE)


def safe_window():
    """Waits until the 30 s step is at least 3 s from its end, so a code
    computed now is judged in the same step by the server."""
    while 30 - (time.time() % 30) < 3:
        time.sleep(0.5)


def user():
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    r = post("/v1/auth/register", {"email": email, "password": PW})
    assert r.status_code == 201, r.text
    r = post("/v1/auth/login", {"email": email, "password": PW})
    assert r.status_code == 200, r.text
    return email, r.json()


def enrol(tokens):
    r = post("/v1/account/mfa/totp", {}, tokens["access_token"])
    check(r.status_code == 200 and r.json()["otpauth_uri"].startswith("otpauth://totp/"),
          "enrolment answers a secret and an otpauth URI", r)
    uri = pyotp.parse_uri(r.json()["otpauth_uri"])
    check(uri.secret == r.json()["secret"] and uri.digits == 6 and uri.interval == 30,
          "pyotp reads the otpauth URI (SHA1, 6 digits, 30 s)")
    totp = pyotp.TOTP(r.json()["secret"])
    safe_window()
    r = post("/v1/account/mfa/totp/confirm", {"code": totp.now()}, tokens["access_token"])
    check(r.status_code == 200 and len(r.json()["recovery_codes"]) == 10,
          "confirming with a pyotp code answers ten recovery codes", r)
    return totp, r.json()["recovery_codes"]


def mfa_token(email):
    r = post("/v1/auth/login", {"email": email, "password": PW})
    body = r.json()
    ok = r.status_code == 403 and body.get("error") == "mfa_required" and "access_token" not in body
    check(ok, "login with a factor answers 403 mfa_required and no tokens", r)
    return body["mfa_token"]


def complete(token, **factor):
    return post("/v1/auth/mfa", {"mfa_token": token, **factor})


# --- amr after a password alone, and TOTP enrolment
email, tokens = user()
check(claims(tokens["access_token"])["amr"] == ["pwd"], "a password login's token says amr [pwd]")
totp, codes = enrol(tokens)

# --- drift: +-2 steps refused, -1 and +1 accepted; then replay refused.
# Confirming the enrolment used the current step: a code of that step or an
# older one is a replay from now on. Wait two steps, so "one step behind" is
# a step never used.
enrolled_step = int(time.time() // 30)
while int(time.time() // 30) < enrolled_step + 2:
    time.sleep(1)
safe_window()
now = time.time()
for d in (-2, 2):
    r = complete(mfa_token(email), totp=totp.at(now + d * 30))
    check(r.status_code == 401 and r.json()["error"] == "invalid_mfa_code",
          f"a code {d:+d} steps away is refused", r)
safe_window()
now = time.time()
r = complete(mfa_token(email), totp=totp.at(now - 30))
check(r.status_code == 200, "a code one step behind is accepted", r)
c = claims(r.json()["access_token"])
check(c["amr"] == ["pwd", "otp", "mfa"] and abs(c["auth_time"] - time.time()) < 60,
      "the MFA login's token says amr [pwd, otp, mfa] and a fresh auth_time")
r = complete(mfa_token(email), totp=totp.at(now + 30))
check(r.status_code == 200, "a code one step ahead is accepted", r)
pair = r.json()
r = complete(mfa_token(email), totp=totp.at(now + 30))
check(r.status_code == 401 and r.json()["error"] == "invalid_mfa_code", "the same code twice is refused", r)
r = complete(mfa_token(email), totp=totp.at(now))
check(r.status_code == 401, "an older code after a newer one is refused", r)

# --- refresh keeps amr and auth_time
r = post("/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
check(r.status_code == 200, "refresh after an MFA login", r)
before = claims(pair["access_token"])
after = claims(r.json()["access_token"])
check(after["amr"] == ["pwd", "otp", "mfa"] and after["auth_time"] == before["auth_time"],
      "refresh keeps amr and auth_time")

# --- recovery codes: once each
r = complete(mfa_token(email), recovery_code=codes[0])
check(r.status_code == 200 and claims(r.json()["access_token"])["amr"] == ["pwd", "otp", "mfa"],
      "a recovery code completes a login", r)
r = complete(mfa_token(email), recovery_code=codes[0])
check(r.status_code == 401 and r.json()["error"] == "invalid_mfa_code", "a recovery code used twice is refused", r)

# --- mfa_token: replayed, expired, another user's code
email2, tokens2 = user()
totp2, codes2 = enrol(tokens2)
tok = mfa_token(email2)
safe_window()
# The enrolment just used the current step: the next one (drift +1) is fresh.
r = complete(tok, totp=totp2.at(time.time() + 30))
check(r.status_code == 200, "second user's MFA login", r)
r = complete(tok, recovery_code=codes2[0])
check(r.status_code == 401 and r.json()["error"] == "invalid_mfa_token", "a replayed mfa_token is refused", r)
tok = mfa_token(email2)
time.sleep(5)
r = complete(tok, recovery_code=codes2[1])
check(r.status_code == 401 and "expired" in r.json()["error_description"], "an expired mfa_token is refused", r)
tok = mfa_token(email2)
r = complete(tok, recovery_code=codes[5])
check(r.status_code == 401 and r.json()["error"] == "invalid_mfa_code",
      "another user's recovery code does not complete the token", r)
safe_window()
r = complete(tok, totp=totp.now())
check(r.status_code == 401, "another user's TOTP code does not complete the token", r)

# --- the password grant answers mfa_required too; /v1/auth/mfa completes it
r = requests.post(f"{BASE}/oauth2/token", data={"grant_type": "password", "username": email2, "password": PW}, timeout=30)
if r.status_code == 403:
    check(r.json()["error"] == "mfa_required" and "access_token" not in r.json(),
          "the password grant answers mfa_required and no tokens", r)
    r = complete(r.json()["mfa_token"], recovery_code=codes2[2])
    check(r.status_code == 200 and claims(r.json()["access_token"])["amr"] == ["pwd", "otp", "mfa"],
          "the password grant's mfa_token completes with amr [pwd, otp, mfa]", r)
else:
    check(r.status_code in (400, 401), "the password grant without a client is refused here", r)

# --- brute force: wrong codes are throttled (429 with Retry-After)
email3, tokens3 = user()
enrol(tokens3)
tok = mfa_token(email3)
seen = None
for i in range(15):
    r = complete(tok, totp=f"{i:06d}")
    if r.status_code == 429:
        seen = r
        break
    check(r.status_code == 401, f"wrong code {i + 1} is refused", r)
check(seen is not None and seen.headers.get("Retry-After"), "a brute force meets 429 with Retry-After", seen)

print(f"mfa: {passed} passed, 0 failed")
