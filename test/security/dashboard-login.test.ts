/**
 * The dashboard login on a real server over HTTP: without a credential `GET /` is the login form;
 * an admin key gets an HttpOnly, SameSite=Strict session cookie that opens the dashboard routes and
 * the job actions, and nothing else; wrong keys, keys without admin, cross-site posts and logged-out
 * sessions are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loginPage } from '../../src/dashboard/login.js';
import { ADD_REQUEST, call, startSecureServer, type SecureServer } from './harness.js';

const INFER = 'infer-secret-0123456789abcdef';
const JOBS = 'jobs-secret-0123456789abcdef';
const ADMIN = 'admin-secret-0123456789abcdef';
const KEYS = `client:${INFER}:infer,bot:${JOBS}:jobs,ops:${ADMIN}:admin`;

/** Posts the login form the way a browser does (urlencoded, no redirect following). */
function postForm(url: string, key: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/dashboard/login`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ key }).toString(),
  });
}

/** `forja_session=<id>` from a login reply, as the browser would send it back. */
function cookieOf(res: Response): string {
  const setCookie = res.headers.get('set-cookie') ?? '';
  const pair = setCookie.split(';')[0];
  assert.match(pair, /^forja_session=[A-Za-z0-9_-]{43}$/);
  return pair;
}

describe('dashboard login', () => {
  let s: SecureServer;
  before(async () => {
    s = await startSecureServer({}, KEYS);
  });
  after(async () => {
    await s?.close();
  });

  test('without a credential, / is the login form (no script, form posts to this origin only)', async () => {
    const res = await fetch(`${s.url}/`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<form method="post" action="\/dashboard\/login"/);
    assert.match(html, /name="key" type="password"/);
    assert.doesNotMatch(html, /<script/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /form-action 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal((await fetch(`${s.url}/dashboard/login.css`)).status, 200);
    assert.equal((await call(`${s.url}/dashboard/snapshot`, 'GET')).status, 401);
    assert.equal((await call(`${s.url}/dashboard/app.js`, 'GET')).status, 401);
  });

  test('a wrong key gets the login page again with an error, 401, and no cookie', async () => {
    const res = await postForm(s.url, 'not-a-key-0123456789abcdef');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('set-cookie'), null);
    const html = await res.text();
    assert.match(html, /id="login-error"[^>]*>That API key is not valid\./);
    assert.match(html, /id="login-form"/);
  });

  test('the error text is escaped into the page', () => {
    const html = loginPage('<img src=x onerror=alert(1)> & "quotes"');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;'));
    assert.ok(!html.includes('<img'));
  });

  test('keys without the admin scope cannot log in (403)', async () => {
    for (const key of [INFER, JOBS]) {
      const res = await postForm(s.url, key);
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('set-cookie'), null);
      assert.match(await res.text(), /does not have the admin scope/);
    }
    const json = await call(`${s.url}/dashboard/login`, 'POST', {}, { key: INFER });
    assert.equal(json.status, 403);
    assert.match(json.json.error, /admin scope/);
  });

  test('a login posted from another site is refused (Origin check)', async () => {
    const res = await postForm(s.url, ADMIN, { origin: 'http://evil.example' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('set-cookie'), null);
  });

  test('the admin key sets a session cookie that opens the dashboard routes and the job actions only', async () => {
    const res = await postForm(s.url, ADMIN, { origin: s.url });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/');
    const setCookie = res.headers.get('set-cookie') ?? '';
    for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/']) assert.ok(setCookie.includes(attribute), setCookie);
    assert.ok(!setCookie.includes(ADMIN), 'the key itself is never in the cookie');
    const cookie = { cookie: cookieOf(res) };

    const page = await fetch(`${s.url}/`, { headers: cookie });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/dashboard\/app.js">/);
    assert.match(html, /data-auth="session"/);
    const snapshot = await call(`${s.url}/dashboard/snapshot`, 'GET', cookie);
    assert.equal(snapshot.status, 200);
    assert.ok(Array.isArray(snapshot.json.models));

    const abort = new AbortController();
    const events = await fetch(`${s.url}/dashboard/events`, { headers: cookie, signal: abort.signal });
    assert.equal(events.status, 200);
    assert.match(events.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = events.body!.getReader();
    let text = '';
    while (!text.includes('event: snapshot')) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    await reader.cancel().catch(() => undefined);

    // The cookie is not an API key: inference, metrics and the jobs API at large refuse it.
    assert.equal((await call(`${s.url}/v2/models/add/infer`, 'POST', cookie, ADD_REQUEST)).status, 401);
    assert.equal((await call(`${s.url}/v1/models`, 'GET', cookie)).status, 401);
    assert.equal((await call(`${s.url}/metrics`, 'GET', cookie)).status, 401);
    assert.equal((await call(`${s.url}/api/jobs`, 'POST', cookie, { pipeline: 'echo', input: {} })).status, 401);

    // The two actions the dashboard's buttons call do accept it, from this origin.
    const job = await call(`${s.url}/api/jobs`, 'POST', { authorization: `Bearer ${JOBS}` }, { pipeline: 'echo', input: { n: 1 } });
    assert.equal(job.status, 202);
    const cancel = await call(`${s.url}/api/jobs/${job.json.id}/cancel`, 'POST', { ...cookie, origin: s.url });
    assert.notEqual(cancel.status, 401, JSON.stringify(cancel.json));
    assert.notEqual(cancel.status, 403, JSON.stringify(cancel.json));
    const crossSite = await call(`${s.url}/api/jobs/${job.json.id}/retry`, 'POST', { ...cookie, origin: 'http://evil.example' });
    assert.equal(crossSite.status, 403);
    assert.match(crossSite.json.error, /cross-origin/);

    // So do the two reads of the dashboard's job view; listing jobs does not.
    assert.equal((await call(`${s.url}/api/jobs/${job.json.id}`, 'GET', cookie)).status, 200);
    const logs = await call(`${s.url}/api/jobs/${job.json.id}/logs`, 'GET', cookie);
    assert.equal(logs.status, 200);
    assert.ok(Array.isArray(logs.json.logs));
    assert.equal((await call(`${s.url}/api/jobs`, 'GET', cookie)).status, 401);
  });

  test('JSON login works too; logout ends the session', async () => {
    const res = await fetch(`${s.url}/dashboard/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: ADMIN }) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, key: 'ops' });
    const cookie = { cookie: cookieOf(res) };
    assert.equal((await call(`${s.url}/dashboard/snapshot`, 'GET', cookie)).status, 200);

    const logout = await fetch(`${s.url}/dashboard/logout`, { method: 'POST', headers: cookie });
    assert.equal(logout.status, 204);
    assert.match(logout.headers.get('set-cookie') ?? '', /^forja_session=;.*Max-Age=0/);
    assert.equal((await call(`${s.url}/dashboard/snapshot`, 'GET', cookie)).status, 401);
    const page = await fetch(`${s.url}/`, { headers: cookie });
    assert.match(await page.text(), /id="login-form"/);
  });

  test('a made-up session id is no credential', async () => {
    const cookie = { cookie: `forja_session=${'A'.repeat(43)}` };
    assert.equal((await call(`${s.url}/dashboard/snapshot`, 'GET', cookie)).status, 401);
    assert.match(await (await fetch(`${s.url}/`, { headers: cookie })).text(), /id="login-form"/);
  });

  test('an API key header still opens the dashboard directly (no login page)', async () => {
    const page = await fetch(`${s.url}/`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.match(await page.text(), /data-auth="header"/);
    assert.equal((await fetch(`${s.url}/`, { headers: { authorization: `Bearer ${INFER}` } })).status, 403);
  });
});
