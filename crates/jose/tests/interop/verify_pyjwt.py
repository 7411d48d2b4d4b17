"""Cross-language interop between tessera-jose and PyJWT (run by .ci/interop).

    verify_pyjwt.py verify DIR   verify DIR/tokens.json against DIR/jwks.json
    verify_pyjwt.py sign DIR     sign tokens with fresh PyJWT keys into DIR

The fixture format is described in crates/jose/examples/interop_tokens.rs.
Exits non-zero on any failure.
"""

import base64
import json
import os
import secrets
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm

ALGS = ["HS256", "RS256", "PS256", "ES256", "ES384", "EdDSA"]
ISSUER = "https://interop.tessera.example"
AUDIENCE = "tessera-interop"
SUBJECT = "interop-user"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify(directory: str) -> bool:
    with open(os.path.join(directory, "jwks.json")) as f:
        jwks = json.load(f)
    with open(os.path.join(directory, "tokens.json")) as f:
        spec = json.load(f)
    by_kid = {k["kid"]: k for k in jwks["keys"]}

    def decode(token: str, alg: str) -> dict:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != alg:
            raise AssertionError(f"header alg is {header.get('alg')!r}")
        if header.get("typ") != "at+jwt":
            raise AssertionError(f"header typ is {header.get('typ')!r}")
        jwk = by_kid[header["kid"]]
        if jwk.get("alg") != alg:
            raise AssertionError(f"JWK alg is {jwk.get('alg')!r}")
        key = jwt.PyJWK(jwk, algorithm=alg)
        return jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=spec["audience"],
            issuer=spec["issuer"],
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )

    passed = failed = 0
    for alg in ALGS:
        try:
            token = spec["tokens"][alg]
            claims = decode(token, alg)
            if claims["sub"] != spec["subject"]:
                raise AssertionError(f"sub is {claims['sub']!r}")
            # Control: the same signature over a changed payload must fail.
            h, _, s = token.split(".")
            forged = dict(claims, sub="attacker")
            bad = f"{h}.{b64url(json.dumps(forged).encode())}.{s}"
            try:
                decode(bad, alg)
            except jwt.InvalidSignatureError:
                pass
            else:
                raise AssertionError("accepted a forged payload")
            passed += 1
            print(f"  ok   {alg}")
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failed += 1
            print(f"  FAIL {alg}: {e!r}")
    try:
        decode(spec["expired"]["token"], spec["expired"]["alg"])
    except jwt.ExpiredSignatureError:
        passed += 1
        print("  ok   expired token refused")
    except Exception as e:  # noqa: BLE001
        failed += 1
        print(f"  FAIL expired token: {e!r}")
    else:
        failed += 1
        print("  FAIL expired token was accepted")
    print(f"pyjwt: {passed} passed, {failed} failed")
    return failed == 0


def new_key(alg: str):
    """A private key and its public JWK (as a dict) for `alg`."""
    if alg == "HS256":
        # ASCII secret: tessera-jose refuses HMAC secrets that begin like JSON or PEM.
        secret = secrets.token_urlsafe(48).encode()
        return secret, HMACAlgorithm.to_jwk(secret, as_dict=True)
    if alg in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return private, RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    if alg in ("ES256", "ES384"):
        curve = ec.SECP256R1() if alg == "ES256" else ec.SECP384R1()
        private = ec.generate_private_key(curve)
        return private, ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    if alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        return private, OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    raise ValueError(alg)


def sign(directory: str) -> bool:
    os.makedirs(directory, exist_ok=True)
    now = int(time.time())
    keys, tokens, expired = [], {}, None
    for alg in ALGS:
        private, jwk = new_key(alg)
        kid = f"pyjwt-{alg.lower()}"
        jwk.update(kid=kid, alg=alg, use="sig")
        keys.append(jwk)
        headers = {"kid": kid, "typ": "at+jwt"}

        def claims(iat: int, exp: int, alg: str = alg) -> dict:
            return {"iss": ISSUER, "aud": AUDIENCE, "sub": SUBJECT, "iat": iat,
                    "exp": exp, "jti": f"pyjwt-{alg}"}

        tokens[alg] = jwt.encode(claims(now, now + 600), private, algorithm=alg, headers=headers)
        if alg == "ES256":
            old = claims(now - 7200, now - 3600)
            expired = {"alg": alg, "token": jwt.encode(old, private, algorithm=alg, headers=headers)}
    spec = {"issuer": ISSUER, "audience": AUDIENCE, "subject": SUBJECT,
            "tokens": tokens, "expired": expired}
    with open(os.path.join(directory, "jwks.json"), "w") as f:
        json.dump({"keys": keys}, f)
    with open(os.path.join(directory, "tokens.json"), "w") as f:
        json.dump(spec, f, indent=2)
    print(f"pyjwt {jwt.__version__}: wrote {len(tokens)} tokens to {directory}")
    return True


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("verify", "sign"):
        sys.exit(f"usage: {sys.argv[0]} verify|sign DIR")
    ok = (verify if sys.argv[1] == "verify" else sign)(sys.argv[2])
    sys.exit(0 if ok else 1)
