// Screenshots of the admin console (overview, users, a user) and the front
// door (`GET /` in a browser) for the README: `node web/test/screenshots.js`
// (after `cargo build -p tessera`). Starts its own `tessera serve`, makes a
// little activity (users, logins, a failed login, refreshes), signs in as an
// admin through the hosted login page and writes PNGs to docs/.
import { join } from 'node:path';
import { launch, repoDir, startTessera } from './browser/harness.js';
import { cli, login, refreshFromNode, register, signIn } from './browser/admin-console.js';

const out = join(repoDir, 'docs');
const server = await startTessera({ ttl: 900 });
const browser = await launch();
try {
  const admin = 'ada@example.com';
  await register(server, admin);
  cli(server, ['users', 'set-roles', '--email', admin, '--role', 'admin']);
  for (const name of ['grace', 'alan', 'barbara', 'edsger', 'katherine', 'linus', 'margaret']) {
    const email = `${name}@example.com`;
    await register(server, email);
    const t = await login(server, email);
    await refreshFromNode(server, t.refresh_token);
  }
  cli(server, ['users', 'set-roles', '--email', 'grace@example.com', '--role', 'editor']);
  await fetch(`${server.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'alan@example.com', password: 'not the password' }),
  });

  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: 'light' });
  const p = await context.newPage();
  await p.goto(`${server.url}/`);
  await p.screenshot({ path: join(out, 'front-door.png') });

  await signIn(p, server, admin);
  await p.waitForSelector('body[data-ready="true"]');
  await p.waitForSelector('#counts, #warnings');
  await p.screenshot({ path: join(out, 'admin-overview.png'), fullPage: true });
  await p.click('#nav a[data-view="users"]');
  await p.waitForSelector('#users tbody tr[data-user]');
  await p.screenshot({ path: join(out, 'admin-users.png') });
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
