// Shared pieces of the browser tests: real `tessera serve` processes and a
// headless Debian Chromium driven by playwright-core.
//
// Environment:
//   TESSERA_URL         a running server to use as the main (ES256) one; else one is started
//   TESSERA_BIN         the tessera binary (default: debug/tessera in CARGO_TARGET_DIR or ../target)
//   TESSERA_TTL         access-token lifetime of servers started here (default 4s)
//   CHROMIUM            the browser (default /usr/bin/chromium)
//   TESSERA_SCREENSHOT_DIR  where screenshots go (default: a temporary directory)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const webDir = resolve(here, '../..');
export const repoDir = resolve(webDir, '..');

export const PASSWORD = 'correct horse battery staple';
export const TTL = Number.parseInt(process.env.TESSERA_TTL ?? '4', 10);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts `tessera serve` with its own data directory and port (and `env` added); resolves to `{url, stop, dir, bin, env, origin}` (`bin` and `env` run the CLI on the same data).
 * With `localhost: true` its issuer is `http://localhost:<port>` (`origin`), a domain WebAuthn accepts as an RP ID; `url` stays the 127.0.0.1 address for Node.
 */
export async function startTessera({ alg = 'ES256', ttl = TTL, env: extraEnv = {}, localhost = false } = {}) {
  const target = process.env.CARGO_TARGET_DIR ? resolve(repoDir, process.env.CARGO_TARGET_DIR) : join(repoDir, 'target');
  const bin = process.env.TESSERA_BIN ?? join(target, 'debug/tessera');
  const dir = mkdtempSync(join(tmpdir(), `tessera-web-${alg}-`));
  const port = await freePort();
  const env = {
    ...process.env,
    TESSERA_LISTEN: `127.0.0.1:${port}`,
    TESSERA_DATA_DIR: dir,
    TESSERA_SIGNING_ALG: alg,
    TESSERA_ACCESS_TOKEN_TTL: String(ttl),
    TESSERA_LEEWAY: '0',
    TESSERA_ARGON2_MEMORY_KIB: '1024',
    TESSERA_ARGON2_ITERATIONS: '1',
    TESSERA_REGISTER_RATE_PER_MINUTE: '0',
    ...(localhost ? { TESSERA_ISSUER: `http://localhost:${port}` } : {}),
    ...extraEnv,
  };
  let output = '';
  const child = spawn(bin, ['serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((r) => child.once('exit', r));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tessera (${alg}) exited: ${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`tessera (${alg}) did not start: ${output}`);
    }
    await sleep(100);
  }
  const origin = localhost ? `http://localhost:${port}` : url;
  return { url, stop, alg, dir, bin, env, origin };
}

/** The main server: the one `.ci/web` started (TESSERA_URL), or a new ES256 one. */
export async function mainServer() {
  if (process.env.TESSERA_URL) return { url: process.env.TESSERA_URL.replace(/\/+$/, ''), stop: async () => {}, alg: 'ES256' };
  return startTessera({ alg: 'ES256' });
}

/** Headless Debian Chromium. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Registers and logs in over HTTP from Node; resolves to the token answer. */
export async function userTokens(url, email = `u-${Math.random().toString(36).slice(2)}@example.com`) {
  const post = (path, body) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const reg = await post('/v1/auth/register', { email, password: PASSWORD });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const login = await post('/v1/auth/login', { email, password: PASSWORD });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  return login.json();
}

/**
 * Records every request a browser context makes: URL, all headers (as sent,
 * including cookies and referrer) and body.
 */
export function recordRequests(context) {
  const seen = [];
  const pending = [];
  context.on('request', (req) => {
    pending.push(
      req.allHeaders().then((headers) => {
        seen.push({ url: req.url(), method: req.method(), headers, body: req.postData() ?? '' });
      }),
    );
  });
  return {
    async all() {
      await Promise.all(pending);
      return seen;
    },
  };
}

/** Where screenshots go. */
export function screenshotDir() {
  const dir = process.env.TESSERA_SCREENSHOT_DIR
    ? resolve(webDir, process.env.TESSERA_SCREENSHOT_DIR)
    : mkdtempSync(join(tmpdir(), 'tessera-shots-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}
