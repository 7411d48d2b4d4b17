// The API reference at /docs (the vendored Swagger UI) in a real browser:
// it renders every operation from /openapi.json under the page's CSP, loads
// nothing from elsewhere, and the browser reports no CSP violation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, mainServer, recordRequests } from './harness.js';

let browser;
let server;

before(async () => {
  browser = await launch();
  server = await mainServer();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('/docs renders the API under a strict CSP and loads only from the server', async () => {
  const context = await browser.newContext();
  const requests = recordRequests(context);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  const res = await page.goto(`${server.url}/docs/`);
  assert.equal(res.status(), 200);
  const csp = res.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /frame-ancestors 'none'/);
  // Every operation of the document is rendered.
  const spec = await (await fetch(`${server.url}/openapi.json`)).json();
  const operations = Object.values(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  await page.waitForFunction((want) => document.querySelectorAll('.opblock').length === want, operations, {
    timeout: 20_000,
  });
  // Opening one operation works (Swagger UI styles it from script).
  await page.click('.opblock-summary-control >> nth=0');
  await page.waitForSelector('.opblock-body', { timeout: 10_000 });
  const style = await page.evaluate(() => getComputedStyle(document.querySelector('.opblock')).borderStyle);
  assert.equal(style, 'solid', 'the stylesheet applies');
  assert.deepEqual(problems, [], 'no script error and no CSP violation');
  for (const r of await requests.all()) assert.ok(r.url.startsWith(server.url), `request elsewhere: ${r.url}`);
  await context.close();
});
