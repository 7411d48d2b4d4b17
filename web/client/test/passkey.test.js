// The passkey helpers' conversions between Tessera's WebAuthn JSON (binary
// members in base64url) and what navigator.credentials takes and gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  b64urlToBuffer,
  bufferToB64url,
  creationOptionsFromJSON,
  credentialToJSON,
  requestOptionsFromJSON,
} from '../passkey.js';

const bytes = (buf) => [...new Uint8Array(buf)];

test('base64url round-trips every byte, padded or not', () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const text = bufferToB64url(all);
  assert.match(text, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(bytes(b64urlToBuffer(text)), [...all]);
  assert.deepEqual(bytes(b64urlToBuffer('AQI=')), [1, 2]);
  assert.deepEqual(bytes(b64urlToBuffer('AQI')), [1, 2]);
  assert.equal(bufferToB64url(new Uint8Array([250, 251, 252]).subarray(1)), '-_w');
});

test('options: challenge, user id and credential ids become ArrayBuffers', () => {
  const c = creationOptionsFromJSON({
    challenge: 'AQID',
    rp: { id: 'example.com', name: 'x' },
    user: { id: 'BAU', name: 'a@b.c', displayName: 'a@b.c' },
    excludeCredentials: [{ type: 'public-key', id: 'Bgc' }],
    authenticatorSelection: { residentKey: 'required' },
  });
  assert.deepEqual(bytes(c.challenge), [1, 2, 3]);
  assert.deepEqual(bytes(c.user.id), [4, 5]);
  assert.deepEqual(bytes(c.excludeCredentials[0].id), [6, 7]);
  assert.equal(c.authenticatorSelection.residentKey, 'required');
  const r = requestOptionsFromJSON({ challenge: 'CAk', rpId: 'example.com' });
  assert.deepEqual(bytes(r.challenge), [8, 9]);
  assert.deepEqual(r.allowCredentials, []);
});

test('credentials: attestation and assertion responses as base64url JSON', () => {
  const buf = (...b) => new Uint8Array(b).buffer;
  const created = credentialToJSON({
    id: 'AQ',
    rawId: buf(1),
    type: 'public-key',
    response: { clientDataJSON: buf(2), attestationObject: buf(3), getTransports: () => ['internal'] },
    getClientExtensionResults: () => ({ credProps: { rk: true } }),
  });
  assert.deepEqual(created, {
    id: 'AQ',
    rawId: 'AQ',
    type: 'public-key',
    response: { clientDataJSON: 'Ag', attestationObject: 'Aw', transports: ['internal'] },
    extensions: { credProps: { rk: true } },
  });
  const asserted = credentialToJSON({
    id: 'AQ',
    rawId: buf(1),
    type: 'public-key',
    response: { clientDataJSON: buf(2), authenticatorData: buf(4), signature: buf(5), userHandle: buf(6) },
  });
  assert.deepEqual(asserted.response, { clientDataJSON: 'Ag', authenticatorData: 'BA', signature: 'BQ', userHandle: 'Bg' });
  assert.deepEqual(asserted.extensions, {});
});
