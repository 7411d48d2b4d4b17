"""Schemathesis hooks for .ci/schemathesis. Rules 1 and 2 are rules of
Tessera's contract that the OpenAPI document states in prose because JSON
Schema cannot say them reasonably; those hooks remove only the generated
requests that break such a rule, so that "schema-valid" means what the
documentation says. Rule 3 keeps the fuzzer's own login alive.

1. A new password must not be on the common-password list that the server
   embeds (crates/core/data/common-passwords.txt, 10,010 entries, compared
   case-insensitively): `password` at registration, `new_password` of a
   password change or reset. The operations' descriptions say so; a
   JSON Schema `not: {enum: [...]}` of ten thousand entries could not say
   "case-insensitively" anyway. The list is read from the same file the
   server compiles in.
2. An OAuth client authenticates with HTTP Basic or with `client_id` and
   `client_secret` in the form, not both (RFC 6749 §2.3.1: "MUST NOT use
   more than one authentication method"). The run authenticates the
   `basic` scheme, so form bodies that carry `client_secret` as well are
   dropped from the operations that take Basic.
3. The fuzzer's own login must survive the run (`.ci/schemathesis` checks
   that its access token still works at the end), while every operation
   that can end a session still really runs. So an operation aimed at the
   fuzzer's own session or account is pointed at a disposable one just
   before it is sent (`before_call`): `logout-all` runs with a fresh login
   of the disposable account; `DELETE /v1/sessions/{id}` on the fuzzer's
   session deletes a fresh second session of the fuzzer instead; the admin
   operations on the fuzzer's user id (roles, sessions) act on the
   disposable account; revoking the key that signed the fuzzer's token
   revokes a key made for the call instead. The account lifecycle (issue
   15): changing the password, changing the email and deleting the account
   with the fuzzer's token act on a throwaway account registered for the
   call, with its real password as `current_password` (so they succeed);
   the admin disable and delete aimed at the fuzzer or the disposable
   account act on a throwaway account too (the disposable one must keep
   logging in). The script passes the ids in the environment.
4. A `DPoP` header must be a proof JWT signed for this very request (RFC
   9449: method, URL, time, a fresh `jti`); any other value is refused with
   400 `invalid_dpop_proof`, as documented. A fuzzer cannot sign one, so
   generated cases that carry the optional header are dropped (the DPoP
   suites in crates/server/tests/it/dpop.rs and .ci/resource_servers send
   real ones).
5. `POST /v1/auth/mfa` takes exactly one of `totp` and `recovery_code`
   (`passkey` is answered 400 until passkeys land), as its description
   says; other bodies are dropped.
"""

import json
import os
import urllib.request
from pathlib import Path

import schemathesis

LIST = Path(__file__).resolve().parent.parent / "crates/core/data/common-passwords.txt"


def _common_passwords() -> frozenset:
    lines = LIST.read_text(encoding="utf-8").splitlines()
    # A `#` header, one empty line, then one entry per line.
    start = lines.index("") + 1
    return frozenset(line for line in lines[start:] if line)


COMMON = _common_passwords()


def _password_not_common(body, field="password"):
    if isinstance(body, dict) and isinstance(body.get(field), str):
        return body[field].lower() not in COMMON
    return True


def _one_client_authentication(body):
    return not (isinstance(body, dict) and "client_secret" in body)


def _one_second_factor(body):
    """Rule 5 (see the module docs)."""
    if not isinstance(body, dict):
        return True
    given = [k for k in ("totp", "recovery_code") if k in body]
    return len(given) == 1 and "passkey" not in body


def _applies(ctx, case_body):
    op = ctx.operation
    if op is None or op.method.upper() != "POST":
        return True
    if op.path == "/v1/auth/register":
        return _password_not_common(case_body)
    if op.path in ("/v1/auth/password/reset", "/v1/account/password"):
        return _password_not_common(case_body, "new_password")
    if op.path.startswith("/oauth2/"):
        return _one_client_authentication(case_body)
    if op.path == "/v1/auth/mfa":
        return _one_second_factor(case_body)
    return True


# Each rule is checked on generated bodies (`filter_body`: the fuzzing
# phase), on whole cases (`filter_case`: the coverage phase) and on the
# cases built from the document's examples (`before_add_examples`).
@schemathesis.hook
def filter_body(ctx, body):
    return _applies(ctx, body)


def _no_dpop(headers):
    return headers is None or not any(k.lower() == "dpop" for k in list(headers.keys()))


@schemathesis.hook
def filter_headers(ctx, headers):
    return _no_dpop(headers)


@schemathesis.hook
def filter_case(ctx, case):
    return _applies(ctx, case.body) and _no_dpop(case.headers)


@schemathesis.hook
def before_add_examples(ctx, examples):
    examples[:] = [case for case in examples if _applies(ctx, case.body) and _no_dpop(case.headers)]


# Rule 3: the fuzzer's login survives. Without the environment (the hooks
# loaded elsewhere) nothing is redirected.
FUZZ = {
    k: os.environ.get(k, "")
    for k in ("TESSERA_BASE", "FUZZ_EMAIL", "FUZZ_PASSWORD", "FUZZ_TOKEN", "FUZZ_USER_ID", "FUZZ_SID",
              "SPARE_EMAIL", "SPARE_PASSWORD", "SPARE_USER_ID")
}


def _login(email, password):
    req = urllib.request.Request(
        FUZZ["TESSERA_BASE"] + "/v1/auth/login",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def _throwaway():
    """A fresh account for one call: (id, password, access token)."""
    import secrets

    email = "throwaway-" + secrets.token_hex(8) + "@example.com"
    password = secrets.token_urlsafe(24)
    req = urllib.request.Request(
        FUZZ["TESSERA_BASE"] + "/v1/auth/register",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        user_id = json.load(res)["id"]
    return user_id, password, _login(email, password)["access_token"]


# The caller's own account operations that change or end it.
OWN_ACCOUNT = {("POST", "/v1/account/password"), ("POST", "/v1/account/email"), ("DELETE", "/v1/account")}
# Admin operations that would lock the disposable account out as well.
ADMIN_ENDING = {("POST", "/v1/admin/users/{id}/disable"), ("DELETE", "/v1/admin/users/{id}")}


def _kid(access_token):
    import base64

    header = access_token.split(".")[0]
    header += "=" * (-len(header) % 4)
    return json.loads(base64.urlsafe_b64decode(header))["kid"]


def _sid(access_token):
    import base64

    payload = access_token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))["sid"]


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # Rule 4 for the phases whose cases escape the filters above (the
    # coverage phase's null and empty header values): the header goes.
    if case.headers is not None:
        for k in [k for k in list(case.headers.keys()) if k.lower() == "dpop"]:
            del case.headers[k]
    if not FUZZ["FUZZ_SID"]:
        return
    op = case.operation
    method, path = op.method.upper(), op.path
    params = case.path_parameters or {}
    headers = case.headers or {}
    as_fuzzer = any(
        k.lower() == "authorization" and v == "Bearer " + FUZZ["FUZZ_TOKEN"] for k, v in headers.items()
    )
    # Cases sent without the fuzzer's login (checks of missing or bad
    # credentials) cannot end its session: they go out as generated.
    if not as_fuzzer:
        return
    if (method, path) in OWN_ACCOUNT:
        _, password, token = _throwaway()
        others = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        case.headers = {**others, "Authorization": "Bearer " + token}
        if isinstance(case.body, dict) and "current_password" in case.body:
            case.body = {**case.body, "current_password": password}
    elif (method, path) in ADMIN_ENDING and params.get("id") in (FUZZ["FUZZ_USER_ID"], FUZZ["SPARE_USER_ID"]):
        case.path_parameters = {**params, "id": _throwaway()[0]}
    elif method == "POST" and path == "/v1/auth/logout-all":
        spare = _login(FUZZ["SPARE_EMAIL"], FUZZ["SPARE_PASSWORD"])
        others = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        case.headers = {**others, "Authorization": "Bearer " + spare["access_token"]}
    elif method == "DELETE" and path == "/v1/sessions/{id}" and params.get("id") == FUZZ["FUZZ_SID"]:
        second = _login(FUZZ["FUZZ_EMAIL"], FUZZ["FUZZ_PASSWORD"])
        case.path_parameters = {**params, "id": _sid(second["access_token"])}
    elif path.startswith("/v1/admin/users/{id}") and params.get("id") == FUZZ["FUZZ_USER_ID"]:
        case.path_parameters = {**params, "id": FUZZ["SPARE_USER_ID"]}
    elif path == "/v1/admin/keys/{kid}/revoke" and params.get("kid") == _kid(FUZZ["FUZZ_TOKEN"]):
        # Revoking the key that signed the fuzzer's token would refuse the
        # token: revoke a fresh key instead (it is made for this call).
        req = urllib.request.Request(
            FUZZ["TESSERA_BASE"] + "/v1/admin/keys/rotate",
            headers={"Authorization": "Bearer " + FUZZ["FUZZ_TOKEN"]},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as res:
            case.path_parameters = {**params, "kid": json.load(res)["kid"]}
