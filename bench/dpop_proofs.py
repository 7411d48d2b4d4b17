#!/usr/bin/env python3
"""Setup for bench/run.sh me_dpop (not measured): DPoP-bound sessions, and a
pool of single-use proofs for GET /v1/me made ahead of the run.

    dpop_proofs.py URL EMAILS PASSWORD SESSIONS PROOFS OUT

Logs in SESSIONS times with a proof from a fresh ES256 key per session (the
tokens come back bound: token_type DPoP, cnf.jkt), then writes PROOFS lines
"access_token proof" to OUT, round robin over the sessions, each proof with
its own jti and the ath of its token (RFC 9449). Needs `cryptography` and
PyJWT (pip); signing runs on every core.
"""

import base64
import concurrent.futures as cf
import hashlib
import json
import os
import sys
import time
import urllib.request
import uuid

import jwt  # PyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_key():
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, {k: jwk[k] for k in ("kty", "crv", "x", "y")}


def proof(pem, jwk, method, url, token=None):
    claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
    if token:
        claims["ath"] = b64(hashlib.sha256(token.encode()).digest())
    return jwt.encode(claims, pem, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": jwk})


def login(base, email, password):
    pem, jwk = new_key()
    url = f"{base}/v1/auth/login"
    req = urllib.request.Request(url, data=json.dumps({"email": email, "password": password}).encode(),
                                 method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("DPoP", proof(pem, jwk, "POST", url))
    with urllib.request.urlopen(req, timeout=60) as r:
        body = json.loads(r.read())
    if body.get("token_type") != "DPoP":
        sys.exit(f"login did not bind the token: {body.get('token_type')}")
    return pem, jwk, body["access_token"]


def make(args):
    pem, jwk, token, url, n = args
    return [f"{token} {proof(pem, jwk, 'GET', url, token)}" for _ in range(n)]


def main():
    base, emails, password, sessions, proofs, out = sys.argv[1:7]
    sessions, proofs = int(sessions), int(proofs)
    with open(emails) as f:
        users = [l.strip() for l in f if l.strip()]
    bound = [login(base, users[i % len(users)], password) for i in range(sessions)]
    url = f"{base}/v1/me"
    per = -(-proofs // sessions)
    jobs = [(pem, jwk, tok, url, per) for pem, jwk, tok in bound]
    with cf.ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        chunks = list(pool.map(make, jobs))
    # Interleave the sessions, as the Bearer `me` scenario does.
    with open(out, "w") as f:
        for i in range(per):
            for chunk in chunks:
                f.write(chunk[i] + "\n")


if __name__ == "__main__":
    main()
