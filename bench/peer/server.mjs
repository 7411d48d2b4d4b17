// The peer for bench/run.sh: oidc-provider (npm, pinned in package-lock.json)
// configured like Tessera is benchmarked: ES256 JWT access tokens,
// client_credentials for a confidential client (client_secret_basic),
// refresh-token rotation on every use (rotateRefreshToken: true).
// Storage is oidc-provider's built-in in-memory adapter (no database at all:
// this favours the peer, which writes nothing durable).
//
// Usage: node server.mjs <port> <client_secret>
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 18090);
const secret = process.argv[3];
if (!secret) throw new Error('usage: node server.mjs <port> <client_secret>');
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:bench:api';

const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    client_secret: secret,
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1:9/cb'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    scope: 'api offline_access',
  }],
  jwks: { keys: [{ ...jwk, kid: 'bench-es256', alg: 'ES256', use: 'sig' }] },
  cookies: { keys: ['bench-cookie-key-not-secret-0123456789'] },
  scopes: ['openid', 'offline_access', 'api'],
  rotateRefreshToken: true,
  // A refresh token is issued for offline_access, as by default.
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: 'api',
        audience: RESOURCE,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: 900,
    ClientCredentials: 900,
    RefreshToken: 30 * 86400,
    Grant: 30 * 86400,
    Session: 86400,
    Interaction: 600,
    AuthorizationCode: 60,
  },
});

// Setup only (not measured): an interaction that logs the user in and
// consents to everything asked, so a scripted authorization-code flow
// (bench/setup.py peer-tokens) yields genuine refresh tokens.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: `bench-user-${Math.random().toString(36).slice(2)}` } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

const handler = provider.callback();
http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((e) => {
      res.statusCode = 500;
      res.end(String(e));
    });
  } else {
    handler(req, res);
  }
}).listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
