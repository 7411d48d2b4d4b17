"""Python authlib's OAuth2 client against Tessera's token endpoint:
password, refresh_token and client_credentials grants, then revoke + introspect."""
import sys

from authlib.integrations.requests_client import OAuth2Session

base, client_id, client_secret = sys.argv[1], sys.argv[2], sys.argv[3]
token_url = f"{base}/oauth2/token"
passed = 0

# Password grant (confidential client, HTTP Basic).
s = OAuth2Session(client_id, client_secret, token_endpoint_auth_method="client_secret_basic")
tok = s.fetch_token(token_url, username="py@example.com", password="correct horse battery staple")
assert tok["token_type"].lower() == "bearer" and tok["refresh_token"].startswith("tsr_"), tok
me = s.get(f"{base}/v1/me")
assert me.status_code == 200 and me.json()["email"] == "py@example.com", me.text
passed += 1

# Refresh grant: the refresh token rotates.
old = tok["refresh_token"]
new = s.refresh_token(token_url, refresh_token=old)
assert new["refresh_token"] != old and new["access_token"], new
passed += 1

# Client credentials (form client_secret_post).
c = OAuth2Session(client_id, client_secret, token_endpoint_auth_method="client_secret_post", scope="read:reports")
cc = c.fetch_token(token_url, grant_type="client_credentials")
assert "refresh_token" not in cc and cc["scope"] == "read:reports", cc
passed += 1

# Introspect the user's refresh token, revoke it, introspect again.
intro = c.introspect_token(f"{base}/oauth2/introspect", token=new["refresh_token"]).json()
assert intro["active"] is True and intro["token_type"] == "refresh_token", intro
r = c.revoke_token(f"{base}/oauth2/revoke", token=new["refresh_token"], token_type_hint="refresh_token")
assert r.status_code == 200, r.text
intro = c.introspect_token(f"{base}/oauth2/introspect", token=new["access_token"]).json()
assert intro == {"active": False}, intro
passed += 1

# A wrong client secret is invalid_client (401).
bad = OAuth2Session(client_id, "x" * 40, token_endpoint_auth_method="client_secret_basic")
try:
    bad.fetch_token(token_url, grant_type="client_credentials")
except Exception as e:  # authlib raises OAuthError
    assert "invalid_client" in str(e), e
    passed += 1
else:
    raise SystemExit("a wrong client secret was accepted")

print(f"authlib: {passed} passed, 0 failed")
