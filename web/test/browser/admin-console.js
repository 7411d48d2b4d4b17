// Helpers of the admin console's browser tests (admin*.test.js): users made
// over HTTP and the CLI, and signing in to /admin through the hosted login.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { PASSWORD } from './harness.js';

/** Registers `email` over HTTP; resolves to its user view. */
export async function register(server, email) {
  const res = await fetch(`${server.url}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text);
}

/** Runs the CLI on the server's data; resolves to its parsed JSON output. */
export function cli(server, args) {
  const out = execFileSync(server.bin, [...args, '--json'], { env: server.env, cwd: server.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.toString());
}

/** A JSON-mode login from Node (a session of `email`); resolves to the token answer. */
export async function login(server, email) {
  const res = await fetch(`${server.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

/** A bearer-mode refresh from Node; resolves to the response. */
export function refreshFromNode(server, refreshToken) {
  return fetch(`${server.url}/v1/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: refreshToken }),
  });
}

/**
 * A page that records CSP violations and script errors (`problems`), and
 * every request the context makes (`requests`).
 */
export async function watchedPage(context) {
  const problems = [];
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  const p = await context.newPage();
  p.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  p.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  return { p, problems, requests };
}

/** Opens /admin/ and signs in as `email` through the hosted login page. */
export async function signIn(p, server, email) {
  await p.goto(`${server.url}/admin/`);
  await p.waitForSelector('#sign-in');
  await Promise.all([p.waitForURL(`${server.url}/oauth2/authorize?**`), p.click('#sign-in')]);
  await p.waitForSelector('#login-form');
  await p.fill('#email', email);
  await p.fill('#password', PASSWORD);
  await Promise.all([p.waitForURL(`${server.url}/admin/**`), p.click('#submit')]);
}
