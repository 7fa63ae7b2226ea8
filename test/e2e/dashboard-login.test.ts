/**
 * The dashboard login in a real browser against a `forja serve` child with API keys: the page
 * shows the login form, a wrong key shows the error, the admin key opens the live dashboard (its
 * event stream authenticated by the session cookie), and "Log out" returns to the form.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { BROWSER_SKIP, launchBrowser, watchPage } from '../helpers/browser.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tempRepo, type TempRepo } from '../helpers/model-repo.js';
import { writeAddModel } from '../helpers/onnx-models.js';


const ADMIN = 'ops-admin-secret-0123456789abcdef';
const INFER = 'client-infer-secret-0123456789abcdef';

let repo: TempRepo;
let server: ServerProcess;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

describe('dashboard login in a browser', { skip: BROWSER_SKIP, timeout: 120_000 }, () => {
  before(async () => {
    repo = tempRepo();
    writeAddModel(repo.versionPath('add', '1'));
    server = await startServer(['--models', repo.dir], { env: { FORJA_API_KEYS: `ops:${ADMIN}:admin,client:${INFER}:infer` } });
    browser = await launchBrowser();
    page = await browser.newPage();
    await watchPage(page, pageErrors);
  });

  after(async () => {
    const code = await server?.stop();
    await browser?.close();
    repo?.remove();
    assert.equal(code, 0, `forja exited with ${code}:\n${server?.output()}`);
  });

  test('the page shows the login form; a key without admin is refused with a message', async () => {
    const response = await page.goto(server.url + '/');
    assert.equal(response?.status(), 200);
    await page.waitForSelector('#login-form input[name="key"]');
    await page.fill('#key', INFER);
    await Promise.all([page.waitForNavigation(), page.click('#login-form button[type="submit"]')]);
    assert.match(await page.textContent('#login-error') ?? '', /admin scope/);
  });

  test('typing the admin key and submitting shows the live dashboard', async () => {
    await page.fill('#key', ADMIN);
    await Promise.all([page.waitForNavigation(), page.click('#login-form button[type="submit"]')]);
    await page.waitForSelector('#connection.conn-live');
    await page.waitForSelector('#models-table tr[data-model="add"]');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'forja_session');
    assert.ok(session, 'session cookie set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.ok(!session.value.includes(ADMIN));
  });

  test('"Log out" returns to the login form and the session no longer works', async () => {
    const session = (await page.context().cookies()).find((c) => c.name === 'forja_session');
    assert.ok(session);
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    await page.waitForSelector('#login-form');
    assert.equal((await page.context().cookies()).find((c) => c.name === 'forja_session'), undefined, 'the browser dropped the cookie');
    // Replaying the old cookie value fails too: the server forgot the session.
    const replay = await fetch(`${server.url}/dashboard/snapshot`, { headers: { cookie: `forja_session=${session.value}` } });
    assert.equal(replay.status, 401);
  });

  test('no CSP violations or page errors', async () => {
    assert.deepEqual(await page.evaluate(() => (window as any).cspViolations), []);
    assert.deepEqual(pageErrors, []);
  });
});
