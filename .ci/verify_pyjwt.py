"""Verify a Tessera access token with PyJWT and PyJWKClient against the live JWKS."""
import sys

import jwt
from jwt import PyJWKClient

base, token = sys.argv[1], sys.argv[2]
header = jwt.get_unverified_header(token)
assert header["typ"] == "at+jwt", header
client = PyJWKClient(f"{base}/.well-known/jwks.json")
key = client.get_signing_key_from_jwt(token)
claims = jwt.decode(
    token,
    key.key,
    algorithms=[header["alg"]],
    audience="tessera",
    issuer=base,
    options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
)
assert claims["sid"], claims
# A tampered token must fail.
h, p, s = token.split(".")
bad = f"{h}.{p}.{s[:-4]}AAAA"
try:
    jwt.decode(bad, key.key, algorithms=[header["alg"]], audience="tessera", issuer=base)
except jwt.InvalidSignatureError:
    pass
else:
    raise SystemExit("PyJWT accepted a tampered token")
print(f"pyjwt: verified {header['alg']} token for sub={claims['sub']} kid={header['kid']}")
