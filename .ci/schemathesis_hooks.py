"""Schemathesis hooks for .ci/schemathesis: two rules of Tessera's contract
that the OpenAPI document states in prose because JSON Schema cannot say
them reasonably. Each hook removes only the generated requests that break
such a rule, so that "schema-valid" means what the documentation says.

1. A new password must not be on the common-password list that the server
   embeds (crates/core/data/common-passwords.txt, 10,010 entries, compared
   case-insensitively). The register operation's description says so; a
   JSON Schema `not: {enum: [...]}` of ten thousand entries could not say
   "case-insensitively" anyway. The list is read from the same file the
   server compiles in.
2. An OAuth client authenticates with HTTP Basic or with `client_id` and
   `client_secret` in the form, not both (RFC 6749 §2.3.1: "MUST NOT use
   more than one authentication method"). The run authenticates the
   `basic` scheme, so form bodies that carry `client_secret` as well are
   dropped from the operations that take Basic.
"""

from pathlib import Path

import schemathesis

LIST = Path(__file__).resolve().parent.parent / "crates/core/data/common-passwords.txt"


def _common_passwords() -> frozenset:
    lines = LIST.read_text(encoding="utf-8").splitlines()
    # A `#` header, one empty line, then one entry per line.
    start = lines.index("") + 1
    return frozenset(line for line in lines[start:] if line)


COMMON = _common_passwords()


def _password_not_common(body):
    if isinstance(body, dict) and isinstance(body.get("password"), str):
        return body["password"].lower() not in COMMON
    return True


def _one_client_authentication(body):
    return not (isinstance(body, dict) and "client_secret" in body)


def _applies(ctx, case_body):
    op = ctx.operation
    if op is None or op.method.upper() != "POST":
        return True
    if op.path == "/v1/auth/register":
        return _password_not_common(case_body)
    if op.path.startswith("/oauth2/"):
        return _one_client_authentication(case_body)
    return True


# Each rule is checked on generated bodies (`filter_body`: the fuzzing
# phase), on whole cases (`filter_case`: the coverage phase) and on the
# cases built from the document's examples (`before_add_examples`).
@schemathesis.hook
def filter_body(ctx, body):
    return _applies(ctx, body)


@schemathesis.hook
def filter_case(ctx, case):
    return _applies(ctx, case.body)


@schemathesis.hook
def before_add_examples(ctx, examples):
    examples[:] = [case for case in examples if _applies(ctx, case.body)]
