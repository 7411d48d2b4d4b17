// npm `openid-client` (v6) as a confidential server-side OpenID Connect
// client against a live Tessera: discovery, an authorization URL with PKCE
// S256, state and nonce, the hosted login (and consent) pages driven as plain
// form POSTs with a cookie jar (no browser, no JavaScript), the code taken
// from the redirect's Location and exchanged with client_secret_basic, the ID
// token checked (openid-client: signature against the JWKS with
// enableNonRepudiationChecks, iss, aud, nonce; here: at_hash and the
// signature once more by hand, and a forged one refused), userinfo, a
// refresh, and RP-initiated logout with id_token_hint, after which the
// refresh token and the access token are dead.
//
// usage: node check.mjs BASE CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI EMAIL PASSWORD
// (the client: --secret-stdin --redirect-uri REDIRECT_URI --post-logout-redirect-uri
//  POST_LOGOUT_URI --grant authorization_code --grant refresh_token; the user
//  registered with that password)
import { createHash, createPublicKey, verify } from "node:crypto";
import * as client from "openid-client";

const [base, clientId, clientSecret, redirectUri, postLogoutUri, email, password] =
  process.argv.slice(2);
if (!password) {
  console.error("usage: node check.mjs BASE CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI EMAIL PASSWORD");
  process.exit(2);
}
let passed = 0;
const fail = (msg) => {
  throw new Error(msg);
};
const assert = (cond, msg) => cond || fail(msg);

// --- Discovery (plain HTTP on loopback in CI, hence allowInsecureRequests).
const config = await client.discovery(
  new URL(base),
  clientId,
  undefined,
  client.ClientSecretBasic(clientSecret),
  { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks], timeout: 10 },
);
const meta = config.serverMetadata();
assert(meta.issuer === base, `issuer ${meta.issuer}`);
assert(meta.authorization_response_iss_parameter_supported === true, "no iss parameter support");
assert(meta.end_session_endpoint, "no end_session_endpoint");
passed++;

// --- A tiny cookie jar for the "browser" (one host).
const jar = new Map();
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
async function browse(url, init = {}) {
  const res = await fetch(url, {
    ...init,
    redirect: "manual",
    headers: { ...(init.headers || {}), cookie: cookieHeader() },
    signal: AbortSignal.timeout(10_000),
  });
  for (const c of res.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(";");
    const i = pair.indexOf("=");
    const name = pair.slice(0, i).trim();
    const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
    if (expired) jar.delete(name);
    else jar.set(name, pair.slice(i + 1).trim());
  }
  return res;
}
const unescape = (s) =>
  s
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&#x27;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
function formFields(page, formId) {
  const m = page.match(new RegExp(`<form id="${formId}"[^>]*>([\\s\\S]*?)</form>`));
  assert(m, `no ${formId} in the page:\n${page.slice(0, 2000)}`);
  const fields = {};
  for (const [, n, v] of m[1].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[unescape(n)] = unescape(v);
  }
  return fields;
}
const postForm = (url, fields) =>
  browse(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });

// --- The authorization request: PKCE S256, state, nonce.
const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: "openid email offline_access",
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  state,
  nonce,
});

let res = await browse(authUrl);
let page = await res.text();
assert(res.status === 200 && page.includes("login-form"), `login page: ${res.status} ${page.slice(0, 500)}`);
assert(formFields(page, "login-form").csrf, "no CSRF field on the login form");
// Without the CSRF cookie the form is refused.
const noCookie = await fetch(`${base}/oauth2/login`, {
  method: "POST",
  redirect: "manual",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ ...formFields(page, "login-form"), email, password }).toString(),
});
assert(![302, 303].includes(noCookie.status), `login without the CSRF cookie: ${noCookie.status}`);
res = await postForm(`${base}/oauth2/login`, { ...formFields(page, "login-form"), email, password });
if (res.status === 200) {
  page = await res.text();
  assert(page.includes("consent-form"), `after login: ${page.slice(0, 1000)}`);
  assert(page.includes('data-scope="email"'), "the consent page does not list the email scope");
  res = await postForm(`${base}/oauth2/consent`, { ...formFields(page, "consent-form"), decision: "allow" });
}
assert([302, 303].includes(res.status), `no redirect to the client: ${res.status} ${await res.text()}`);
const location = res.headers.get("location");
assert(location.startsWith(`${redirectUri}?`), `Location ${location}`);
passed++;

// --- The code exchange (client_secret_basic); openid-client checks state,
// iss (RFC 9207), the ID token's signature against the JWKS, iss, aud, exp,
// nonce and the PKCE verifier goes along.
const tokens = await client.authorizationCodeGrant(config, new URL(location), {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
assert(claims.nonce === nonce && claims.aud === clientId, `claims ${JSON.stringify(claims)}`);
assert(claims.email === email, `email claim ${claims.email}`);
assert(tokens.refresh_token?.startsWith("tsr_"), "no refresh token");
passed++;

// --- at_hash (openid-client leaves it to us in the code flow) and the
// signature checked once more against the JWKS, with a forged token refused.
const b64url = (buf) => Buffer.from(buf).toString("base64url");
const [h, p, s] = tokens.id_token.split(".");
const header = JSON.parse(Buffer.from(h, "base64url"));
const hashes = { ES256: "sha256", RS256: "sha256", PS256: "sha256", ES384: "sha384", EdDSA: "sha512" };
assert(hashes[header.alg], `unexpected alg ${header.alg}`);
const digest = createHash(hashes[header.alg]).update(tokens.access_token, "ascii").digest();
assert(claims.at_hash === b64url(digest.subarray(0, digest.length / 2)), "at_hash does not match");
const jwks = await (await fetch(meta.jwks_uri)).json();
const jwk = jwks.keys.find((k) => k.kid === header.kid);
assert(jwk, `kid ${header.kid} not in the JWKS`);
const algs = {
  ES256: ["sha256", { dsaEncoding: "ieee-p1363" }],
  ES384: ["sha384", { dsaEncoding: "ieee-p1363" }],
  RS256: ["sha256", {}],
  PS256: ["sha256", { padding: 6, saltLength: 32 }],
  EdDSA: [null, {}],
};
const [hashAlg, opts] = algs[header.alg];
const sigOk = (payload, sig) =>
  verify(hashAlg, Buffer.from(`${h}.${payload}`), { key: createPublicKey({ key: jwk, format: "jwk" }), ...opts }, Buffer.from(sig, "base64url"));
assert(sigOk(p, s), "the ID token's signature does not verify against the JWKS");
const forged = b64url(JSON.stringify({ ...claims, email: "mallory@example.com" }));
assert(!sigOk(forged, s), "a forged ID token verified");
passed++;

// --- Userinfo (openid-client checks sub).
const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
assert(info.email === email, `userinfo ${JSON.stringify(info)}`);
passed++;

// --- Refresh (rotation: a new refresh token).
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
assert(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, "no rotation");
assert(refreshed.access_token !== tokens.access_token, "same access token after refresh");
await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
passed++;

// --- RP-initiated logout with id_token_hint, back to the registered URI with
// state; then the refresh token and the access token are dead.
const endUrl = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: postLogoutUri,
  state: "bye-state",
});
res = await browse(endUrl);
if (res.status === 200) {
  page = await res.text();
  res = await postForm(meta.end_session_endpoint, formFields(page, "logout-form"));
}
assert([302, 303].includes(res.status), `logout: ${res.status}`);
assert(res.headers.get("location") === `${postLogoutUri}?state=bye-state`, `logout Location ${res.headers.get("location")}`);
try {
  await client.refreshTokenGrant(config, refreshed.refresh_token);
  fail("the refresh token still worked after logout");
} catch (e) {
  assert(e instanceof client.ResponseBodyError && e.error === "invalid_grant", `after logout: ${e}`);
}
const ui = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
assert(ui.status === 401, `userinfo after logout: ${ui.status}`);
// Signed out: a new authorization request shows the login page again.
res = await browse(
  client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid",
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: "S256",
    state: client.randomState(),
  }),
);
assert(res.status === 200 && (await res.text()).includes("login-form"), `after logout: ${res.status}`);
passed++;

console.log(`openid-client ${JSON.parse((await import("node:fs")).readFileSync(new URL("./node_modules/openid-client/package.json", import.meta.url))).version}: ${passed} passed, 0 failed`);
