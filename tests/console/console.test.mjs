// Browser scenarios for the web console (issue 10), run by console_test.cc with node --test.
// Environment: CONSOLE_URL, CONSOLE_SHORT_URL (3 s sessions), READ_KEY, INGEST_KEY, RIVAL_KEY,
// SHORT_KEY, KOREAN_ID, HOSTILE_ID, CHINESE_ID, RIVAL_ID, NOTARY_VERIFY, TSA_CA, WORK_DIR,
// SCREENSHOT_DIR. Chromium is Debian's /usr/bin/chromium; nothing downloads a browser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const E = process.env;
const URL0 = E.CONSOLE_URL.replace(/\/$/, '');
const SHORT = E.CONSOLE_SHORT_URL.replace(/\/$/, '');
const WORK = E.WORK_DIR;
const SHOTS = E.SCREENSHOT_DIR;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 20000;
const LOCALES = { en: ['en-US', 'America/New_York'], ko: ['ko-KR', 'Asia/Seoul'], zh: ['zh-CN', 'Asia/Shanghai'] };

let browser;
const bundlePath = path.join(WORK, 'console-evidence.zip');
const foreignRequests = [];

before(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, timeout: 60000 });
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => { await browser?.close(); });

async function newPage(lang = 'en', opts = {}) {
  const [locale, timezoneId] = LOCALES[lang];
  const context = await browser.newContext({ locale, timezoneId, acceptDownloads: true,
                                             viewport: { width: 1280, height: 900 }, ...opts });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(URL0) && !u.startsWith(SHORT) && !u.startsWith('blob:') && !u.startsWith('data:')) foreignRequests.push(u);
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, dialogs, errors };
}
async function ready(page, what) {
  await page.waitForFunction((w) => document.documentElement.dataset.ready === w, what, { timeout: TIMEOUT });
}
async function signIn(page, key, base = URL0) {
  await page.goto(base + '/');
  await ready(page, 'signin');
  await page.fill('input[name="api_key"]', key);
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.click('form.signin button[type="submit"]');
  await ready(page, 'search');
}
async function search(page, params) {
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  for (const [k, v] of Object.entries(params)) await page.fill(`form.search [name="${k}"]`, v);
  await page.click('form.search button[type="submit"]');
  await ready(page, 'search');
  return page.$$eval('tr[data-message-id]', (rows) => rows.map((r) => r.dataset.messageId));
}
async function axe(page, name) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${name}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target).join(' ')}`), []);
}
async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}
async function verifyInBrowser(page, file) {
  await page.goto(URL0 + '/verify');
  await ready(page, 'verify');
  await page.setInputFiles('input[name="bundle"]', file);
  const el = await page.waitForSelector('[data-verdict]', { timeout: TIMEOUT });
  return { verdict: await el.getAttribute('data-verdict'), text: await el.textContent() };
}
function notaryVerify(file) {
  const r = spawnSync(E.NOTARY_VERIFY, [file, '--tsa-ca', E.TSA_CA], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}
// Rewrites one entry of a bundle zip with `edit(bytes)`; returns the new zip's path.
function tamper(name, entry, edit) {
  const dir = path.join(WORK, 'tamper-' + name);
  rmSync(dir, { recursive: true, force: true });
  execFileSync('unzip', ['-q', '-o', bundlePath, '-d', dir]);
  const p = path.join(dir, entry);
  writeFileSync(p, edit(readFileSync(p)));
  const out = path.join(WORK, name + '.zip');
  rmSync(out, { force: true });
  execFileSync('sh', ['-c', `cd '${dir}' && zip -q -X -r '${out}' .`]);
  return out;
}

test('pages carry the security headers and are served from the binary', async () => {
  for (const p of ['/', '/search', '/verify', '/messages/x']) {
    const res = await fetch(URL0 + p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers.get('content-type'), /^text\/html; charset=utf-8/);
    const csp = res.headers.get('content-security-policy');
    for (const d of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"]) {
      assert.ok(csp.includes(d), csp);
    }
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  }
  const js = await fetch(URL0 + '/assets/app.js');
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal((await fetch(URL0 + '/assets/missing.js')).status, 404);
  const html = await (await fetch(URL0 + '/')).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
});

test('sign in, search by a Korean subject, open the message, download a bundle notary-verify accepts', async () => {
  const { context, page, errors } = await newPage('en');
  await signIn(page, E.READ_KEY);
  const cookies = await context.cookies();
  const c = cookies.find((x) => x.name === 'notary_session');
  assert.ok(c && c.httpOnly && c.sameSite === 'Strict', JSON.stringify(cookies));
  assert.ok(!(await page.content()).includes(E.READ_KEY), 'the key is gone from the page');
  assert.ok(!page.url().includes(E.READ_KEY));

  const ids = await search(page, { subject: '계약서' });
  assert.deepEqual(ids, [E.KOREAN_ID], 'only this tenant\'s message with that subject');
  await page.click(`tr[data-message-id="${E.KOREAN_ID}"] a`);
  await ready(page, 'message');
  assert.equal(await page.textContent('h1'), '계약서 final');
  assert.ok((await page.textContent('table.parts')).includes('계약서.pdf'));
  const [download] = await Promise.all([page.waitForEvent('download'),
                                        page.click('[data-action="download-evidence"]')]);
  await download.saveAs(bundlePath);
  const v = notaryVerify(bundlePath);
  assert.equal(v.code, 0, v.out);
  const [partDownload] = await Promise.all([page.waitForEvent('download'),
                                            page.click('[data-action="download-part-evidence"]')]);
  const partPath = path.join(WORK, 'console-part.zip');
  await partDownload.saveAs(partPath);
  assert.equal(notaryVerify(partPath).code, 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the verify page, signed out, says valid, and invalid naming the failing step', async () => {
  const { context, page, errors } = await newPage('en');
  const good = await verifyInBrowser(page, bundlePath);
  assert.equal(good.verdict, 'valid', good.text);
  const rows = await page.$$eval('tr[data-check]', (r) => r.map((x) => x.dataset.check));
  assert.equal(rows.length, 20);
  assert.equal(rows[19], 'journal.report');
  assert.equal(rows[0], 'bundle.files');
  assert.equal(rows[15], 'checkpoint.inclusion');
  assert.ok((await page.textContent('p.key')).match(/[0-9a-f]{64}/));

  const flipped = tamper('flipped', 'message.eml', (b) => { const i = b.indexOf('signed'); b[i] ^= 0x20; return b; });
  const bad = await verifyInBrowser(page, flipped);
  assert.equal(bad.verdict, 'invalid');
  assert.ok(bad.text.includes('message.raw_sha256'), bad.text);
  assert.equal(await page.getAttribute('tr[data-check="message.raw_sha256"]', 'data-status'), 'FAIL');
  assert.ok(notaryVerify(flipped).out.includes('message.raw_sha256'));

  const proof = tamper('proof', 'evidence.json', (b) => {
    const e = JSON.parse(b.toString('utf8'));
    assert.ok(e.checkpoint.inclusion_proof.length > 0);
    const h = e.checkpoint.inclusion_proof[0];
    e.checkpoint.inclusion_proof[0] = (h[0] === '0' ? '1' : '0') + h.slice(1);
    return Buffer.from(JSON.stringify(e));
  });
  const bad2 = await verifyInBrowser(page, proof);
  assert.equal(bad2.verdict, 'invalid');
  assert.ok(bad2.text.includes('checkpoint.inclusion'), bad2.text);
  assert.ok(notaryVerify(proof).out.includes('checkpoint.inclusion'));

  writeFileSync(path.join(WORK, 'junk.zip'), 'not a zip');
  const junk = await verifyInBrowser(page, path.join(WORK, 'junk.zip'));
  assert.equal(junk.verdict, 'invalid');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a hostile subject shows as text and runs nothing', async () => {
  const { context, page, dialogs } = await newPage('en');
  await signIn(page, E.READ_KEY);
  const ids = await search(page, { subject: '<img' });
  assert.deepEqual(ids, [E.HOSTILE_ID]);
  const cell = await page.textContent(`tr[data-message-id="${E.HOSTILE_ID}"] a`);
  assert.equal(cell, '<img src=x onerror=alert(1)>');
  await page.click(`tr[data-message-id="${E.HOSTILE_ID}"] a`);
  await ready(page, 'message');
  assert.equal(await page.textContent('h1'), '<img src=x onerror=alert(1)>');
  assert.equal(await page.$$eval('main img, main script', (n) => n.length), 0);
  await page.waitForTimeout(500);
  assert.deepEqual(dialogs, []);
  await context.close();
});

test('another tenant\'s message never appears', async () => {
  const { context, page } = await newPage('en');
  await signIn(page, E.READ_KEY);
  const all = await search(page, { limit: '1000' }).catch(async () => search(page, {}));
  assert.ok(all.includes(E.KOREAN_ID) && all.includes(E.CHINESE_ID));
  assert.ok(!all.includes(E.RIVAL_ID));
  assert.ok(!(await page.content()).includes('rival-secret'));
  await page.goto(URL0 + '/messages/' + E.RIVAL_ID);
  await page.waitForSelector('main .error');
  assert.ok(!(await page.content()).includes('rival-secret'));
  const res = await page.request.get(URL0 + '/v1/messages/' + E.RIVAL_ID + '/evidence');
  assert.equal(res.status(), 404);
  await context.close();

  const rival = await newPage('en');
  await signIn(rival.page, E.RIVAL_KEY);
  const theirs = await search(rival.page, {});
  assert.deepEqual(theirs, [E.RIVAL_ID]);
  await rival.context.close();
});

test('a key without read scope cannot sign in; state changes need the CSRF token', async () => {
  let res = await fetch(URL0 + '/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                                body: JSON.stringify({ api_key: E.INGEST_KEY }) });
  assert.equal(res.status, 403);
  res = await fetch(URL0 + '/v1/session', { method: 'POST', headers: { 'Content-Type': 'text/plain' },
                                            body: JSON.stringify({ api_key: E.READ_KEY }) });
  assert.equal(res.status, 415);
  res = await fetch(URL0 + '/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                            body: JSON.stringify({ api_key: E.READ_KEY }) });
  assert.equal(res.status, 200);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await res.json();
  // A cookie-authenticated state change without the token is refused (ingest needs it too).
  res = await fetch(URL0 + '/v1/session', { method: 'DELETE', headers: { Cookie: cookie } });
  assert.equal(res.status, 403);
  res = await fetch(URL0 + '/v1/messages', { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'message/rfc822' }, body: 'Subject: x\r\n\r\nx\r\n' });
  assert.equal(res.status, 403);
  res = await fetch(URL0 + '/v1/session', { method: 'DELETE', headers: { Cookie: cookie, 'X-CSRF-Token': csrf } });
  assert.equal(res.status, 204);
});

test('sign-out ends the session on the server', async () => {
  const { context, page } = await newPage('en');
  await signIn(page, E.READ_KEY);
  const cookie = (await context.cookies()).find((x) => x.name === 'notary_session');
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.click('[data-action="sign-out"]');
  await ready(page, 'signin');
  const res = await fetch(URL0 + '/v1/messages', { headers: { Cookie: 'notary_session=' + cookie.value } });
  assert.equal(res.status, 401);
  await page.goto(URL0 + '/search');
  await ready(page, 'signin');
  await context.close();
});

test('an expired session returns to sign-in', async () => {
  const { context, page } = await newPage('en');
  await signIn(page, E.SHORT_KEY, SHORT);
  await page.waitForTimeout(4000);
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.click('form.search button[type="submit"]');
  await ready(page, 'signin');
  assert.ok((await page.textContent('#signin-status')).length > 0);
  await page.goto(SHORT + '/search');
  await ready(page, 'signin');
  await context.close();
});

test('keyboard only: sign in and search', async () => {
  const { context, page } = await newPage('en');
  await page.goto(URL0 + '/');
  await ready(page, 'signin');
  for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.name)) !== 'api_key'; i++) {
    await page.keyboard.press('Tab');
  }
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'api_key');
  await page.keyboard.type(E.READ_KEY);
  await page.keyboard.press('Enter');
  await ready(page, 'search');
  for (let i = 0; i < 30 && (await page.evaluate(() => document.activeElement?.name)) !== 'subject'; i++) {
    await page.keyboard.press('Tab');
  }
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'subject');
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.keyboard.type('合同书');
  await page.keyboard.press('Enter');
  await ready(page, 'search');
  assert.deepEqual(await page.$$eval('tr[data-message-id]', (r) => r.map((x) => x.dataset.messageId)), [E.CHINESE_ID]);
  await context.close();
});

for (const lang of ['en', 'ko', 'zh']) {
  test(`axe-core and screenshots in ${lang}`, async () => {
    const { context, page, errors } = await newPage(lang);
    await page.goto(URL0 + '/');
    await ready(page, 'signin');
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await axe(page, 'signin');
    await shot(page, `signin-${lang}`);
    await signIn(page, E.READ_KEY);
    await search(page, {});
    assert.ok((await page.textContent('table.results')).includes('UTC'));
    await axe(page, 'search');
    await shot(page, `search-${lang}`);
    await page.click(`tr[data-message-id="${E.KOREAN_ID}"] a`);
    await ready(page, 'message');
    await axe(page, 'message');
    await shot(page, `message-${lang}`);
    await verifyInBrowser(page, bundlePath);
    await axe(page, 'verify');
    await shot(page, `verify-${lang}`);
    // The switch changes the language in place.
    const other = lang === 'en' ? 'ko' : 'en';
    await page.selectOption('#lang', other);
    assert.equal(await page.getAttribute('html', 'lang'), other);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('no request left this origin', () => {
  assert.deepEqual(foreignRequests, []);
});
