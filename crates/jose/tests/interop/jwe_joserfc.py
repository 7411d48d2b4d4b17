"""JWE interop between tessera-jose and joserfc (run by .ci/interop).

    python3 jwe_joserfc.py decrypt DIR   decrypt DIR/tokens.json with DIR/jwks.json
    python3 jwe_joserfc.py encrypt DIR   encrypt with fresh joserfc keys into DIR

The fixture format is described in crates/jose/examples/interop_jwe.rs.
Exits non-zero on any failure.
"""

import json
import os
import sys
import time

from joserfc import jwe, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OctKey, OKPKey, RSAKey

ENCS = ["A128GCM", "A256GCM", "A128CBC-HS256", "A256CBC-HS512"]
PLAINTEXT = 'joserfc interop: \u2713 {"sub":"interop-user"} \u2014 end'
ISSUER = "https://interop.tessera.example"
AUDIENCE = "tessera-interop"
SUBJECT = "interop-user"
DIR_BITS = {"A128GCM": 128, "A256GCM": 256, "A128CBC-HS256": 256, "A256CBC-HS512": 512}
# The ten key families of interop_jwe.rs: (alg, key type, curve or size).
FAMILIES = [
    ("RSA-OAEP-256", "RSA", 2048),
    ("ECDH-ES", "EC", "P-256"),
    ("ECDH-ES", "EC", "P-384"),
    ("ECDH-ES", "OKP", "X25519"),
    ("ECDH-ES+A128KW", "EC", "P-384"),
    ("ECDH-ES+A256KW", "OKP", "X25519"),
    ("ECDH-ES+A256KW", "EC", "P-256"),
    ("A128KW", "oct", 128),
    ("A256KW", "oct", 256),
]


def import_key(jwk):
    kty = jwk["kty"]
    cls = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey, "oct": OctKey}[kty]
    return cls.import_key(jwk)


def flip_tag(token):
    rest, tag = token.rsplit(".", 1)
    first = "B" if tag[0] == "A" else "A"
    return f"{rest}.{first}{tag[1:]}"


def decrypt(directory):
    with open(os.path.join(directory, "jwks.json"), encoding="utf-8") as f:
        jwks = {k["kid"]: k for k in json.load(f)["keys"]}
    with open(os.path.join(directory, "tokens.json"), encoding="utf-8") as f:
        spec = json.load(f)
    passed = failed = 0
    for entry in spec["tokens"] + [dict(spec["nested"], nested=True)]:
        name = f"{entry['alg']} {entry['enc']} ({entry['kid']})"
        try:
            key = import_key(jwks[entry["kid"]])
            allowed = [entry["alg"], entry["enc"]]
            obj = jwe.decrypt_compact(entry["token"], key, algorithms=allowed)
            if obj.protected.get("alg") != entry["alg"] or obj.protected.get("enc") != entry["enc"]:
                raise AssertionError(f"header is {obj.protected}")
            if entry.get("nested"):
                if obj.protected.get("cty") != "JWT":
                    raise AssertionError("nested token has no cty JWT")
                signer = ECKey.import_key(entry["signer"])
                token = jwt.decode(obj.plaintext, signer, algorithms=["ES256"])
                jwt.JWTClaimsRegistry(
                    iss={"essential": True, "value": ISSUER},
                    aud={"essential": True, "value": AUDIENCE},
                    sub={"essential": True, "value": SUBJECT},
                    exp={"essential": True},
                ).validate(token.claims)
                name = "nested JWT"
            elif obj.plaintext.decode("utf-8") != spec["plaintext"]:
                raise AssertionError("plaintext differs")
            try:
                jwe.decrypt_compact(flip_tag(entry["token"]), key, algorithms=allowed)
                raise AssertionError("accepted a flipped tag")
            except JoseError:
                pass
            passed += 1
            print(f"  ok   {name}")
        except Exception as e:  # noqa: BLE001 - any failure is an interop failure
            failed += 1
            print(f"  FAIL {name}: {type(e).__name__}: {e}")
    if passed + failed != 10 * 4 + 1:
        print(f"  FAIL expected 41 cases, found {passed + failed}")
        failed += 1
    print(f"joserfc <- tessera-jose: {passed} passed, {failed} failed")
    return failed == 0


def generate(alg, kty, param, kid):
    params = {"alg": alg, "use": "enc", "kid": kid}
    if kty == "RSA":
        return RSAKey.generate_key(param, parameters=params)
    if kty == "EC":
        return ECKey.generate_key(param, parameters=params)
    if kty == "OKP":
        return OKPKey.generate_key(param, parameters=params)
    return OctKey.generate_key(param, parameters=params)


def encrypt(directory):
    os.makedirs(directory, exist_ok=True)
    keys, tokens = [], []

    def add(key, alg, enc):
        kid = key.as_dict()["kid"]
        header = {"alg": alg, "enc": enc, "kid": kid}
        token = jwe.encrypt_compact(header, PLAINTEXT, key, algorithms=[alg, enc])
        tokens.append({"kid": kid, "alg": alg, "enc": enc, "token": token})

    for i, (alg, kty, param) in enumerate(FAMILIES):
        key = generate(alg, kty, param, f"joserfc-{alg}-{i}")
        keys.append(key.as_dict(private=True))
        for enc in ENCS:
            add(key, alg, enc)
    for enc in ENCS:
        key = generate("dir", "oct", DIR_BITS[enc], f"joserfc-dir-{enc}")
        keys.append(key.as_dict(private=True))
        add(key, "dir", enc)
    # Nested: an ES256 JWT encrypted to the RSA-OAEP-256 key.
    signer = ECKey.generate_key("P-256", parameters={"alg": "ES256", "kid": "joserfc-signer"})
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": SUBJECT, "iat": now, "exp": now + 600}
    inner = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "joserfc-signer"}, claims, signer)
    rsa = import_key(keys[0])
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT", "kid": keys[0]["kid"]}
    nested = jwe.encrypt_compact(header, inner, rsa, algorithms=["RSA-OAEP-256", "A256GCM"])
    spec = {
        "plaintext": PLAINTEXT,
        "tokens": tokens,
        "nested": {
            "kid": keys[0]["kid"], "alg": "RSA-OAEP-256", "enc": "A256GCM", "token": nested,
            "signer": signer.as_dict(private=False),
            "issuer": ISSUER, "audience": AUDIENCE, "subject": SUBJECT,
        },
    }
    with open(os.path.join(directory, "jwks.json"), "w", encoding="utf-8") as f:
        json.dump({"keys": keys}, f)
    with open(os.path.join(directory, "tokens.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)
    print(f"joserfc: wrote {len(tokens)} JWEs and a nested JWT to {directory}")
    return True


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("decrypt", "encrypt"):
        sys.exit("usage: jwe_joserfc.py decrypt|encrypt DIR")
    ok = decrypt(sys.argv[2]) if sys.argv[1] == "decrypt" else encrypt(sys.argv[2])
    sys.exit(0 if ok else 1)
