// Browser scenarios for the web console (issue 10), run by console_test.cc with node --test.
// Environment: CONSOLE_URL, CONSOLE_SHORT_URL (3 s sessions), READ_KEY, INGEST_KEY, RIVAL_KEY,
// SHORT_KEY, KOREAN_ID, HOSTILE_ID, CHINESE_ID, RIVAL_ID, EDGE_ID (a message in a later block,
// with hostile header values), NOTARY_VERIFY, TSA_CA, WORK_DIR, SCREENSHOT_DIR. Chromium is Debian's /usr/bin/chromium; nothing downloads a browser.
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
  // The bundle carries certificate.pdf (docs/evidence-bundle.md §7a): accepted, and said to be
  // unread.
  assert.ok(execFileSync('unzip', ['-l', bundlePath], { encoding: 'utf8' }).includes('certificate.pdf'));
  assert.ok(await page.$('[data-certificate-pdf="unchecked"]'), 'the page says certificate.pdf is not read');
  const rows = await page.$$eval('tr[data-check]', (r) => r.map((x) => x.dataset.check));
  assert.equal(rows.length, 27);
  assert.equal(rows[21], 'checkpoint.witnesses');
  assert.equal(rows[22], 'sender.record');
  assert.equal(rows[19], 'journal.report');
  assert.equal(rows[20], 'texts.rendered');
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

  // The texts version names the template the certificate was rendered with: without it (1),
  // the version 2 certificate is not what version 1 renders, in both verifiers.
  const texts = tamper('texts', 'evidence.json', (b) => {
    const e = JSON.parse(b.toString('utf8'));
    assert.equal(e.texts_version, 2);
    delete e.texts_version;
    return Buffer.from(JSON.stringify(e));
  });
  const bad3 = await verifyInBrowser(page, texts);
  assert.equal(bad3.verdict, 'invalid');
  assert.equal(await page.getAttribute('tr[data-check="texts.rendered"]', 'data-status'), 'FAIL');
  assert.ok(notaryVerify(texts).out.includes('FAIL  texts.rendered'));
  // A bundle an earlier build issued (texts version 1) renders with the frozen template here too.
  await verifyInBrowser(page, new URL('../fuzz/corpus/bundle/evidence.zip', import.meta.url).pathname);
  assert.equal(await page.getAttribute('tr[data-check="texts.rendered"]', 'data-status'), 'PASS');

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

// ---------- the browser verifier and notary-verify agree (bundle format version 2) ----------
// Checks the browser cannot run, skipped there where notary-verify passes them: recomputing the
// canonical form (3) and reading the journal report (20; the browser checks its hashes only).
const BROWSER_SKIPS = new Set(['message.canonical_sha256', 'journal.report', 'sender.dkim', 'sender.policy', 'sender.dnssec']);

async function download(id, query = '') {
  const res = await fetch(URL0 + '/v1/messages/' + id + '/evidence' + query,
                          { headers: { Authorization: 'Bearer ' + E.READ_KEY } });
  assert.equal(res.status, 200, await res.clone().text());
  const file = path.join(WORK, 'agree-' + id + query.replace(/[^a-z0-9]+/gi, '-') + '.zip');
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}
// Unzips `zip`, lets `edit(dir)` change the tree, zips it again (Info-ZIP) as `name`.zip.
function rezip(zip, name, edit) {
  const dir = path.join(WORK, 'rezip-' + name);
  rmSync(dir, { recursive: true, force: true });
  execFileSync('unzip', ['-q', '-o', zip, '-d', dir]);
  edit(dir);
  const out = path.join(WORK, name + '.zip');
  rmSync(out, { force: true });
  execFileSync('sh', ['-c', `cd '${dir}' && zip -q -X -r '${out}' .`]);
  return out;
}
const editFile = (dir, entry, f) => { const p = path.join(dir, entry); writeFileSync(p, f(readFileSync(p))); };
// notary-verify --json: {checks: [{id, status, reason}], valid} or {error} for an unreadable bundle.
function cliReport(file) {
  const r = spawnSync(E.NOTARY_VERIFY, [file, '--tsa-ca', E.TSA_CA, '--json'], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout);
  if (j.error !== undefined) {
    assert.equal(r.status, 2, r.stderr);
    return { error: r.stderr };
  }
  assert.equal(r.status, j.valid ? 0 : 1, r.stdout + r.stderr);
  return { valid: j.valid, checks: j.checks.map(({ id, status, reason }) => ({ id, status, reason })) };
}
// The /verify page as a person uses it (app.js, which fetches the templates from /assets/).
async function pageReport(page, file) {
  const { verdict, text } = await verifyInBrowser(page, file);
  const checks = await page.$$eval('tr[data-check]', (rows) => rows.map((r) => ({
    id: r.dataset.check, status: r.dataset.status, reason: r.querySelector('td.reason').textContent })));
  if (!checks.length) return { error: text, verdict };
  return { valid: verdict === 'valid', checks };
}
// verifyBundle imported in the page: the report and the texts it re-rendered (bytes, base64).
async function moduleReport(page, file) {
  return page.evaluate(async (b64) => {
    const V = await import('/assets/verify.js');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const files = await V.readZip(bytes);
    const enc = (u) => (u ? btoa(Array.from(u, (x) => String.fromCharCode(x)).join('')) : null);
    try {
      const r = await V.verifyBundle(files, null);
      return { valid: r.valid, checks: r.checks, certificate: enc(r.renderedTexts?.certificate),
               verify: enc(r.renderedTexts?.verify) };
    } catch (err) {
      return { error: err.message };
    }
  }, readFileSync(file).toString('base64'));
}
function assertAgree(browser, cli, what) {
  assert.ok(!browser.error && !cli.error, what + ': ' + (browser.error || cli.error));
  assert.deepEqual(browser.checks.map((c) => c.id), cli.checks.map((c) => c.id), what);
  for (let i = 0; i < cli.checks.length; i++) {
    const b = browser.checks[i], c = cli.checks[i];
    if (BROWSER_SKIPS.has(c.id) && c.status === 'PASS' && b.status === 'SKIP') continue;
    assert.equal(b.status, c.status, `${what}: ${c.id}: browser ${b.status} (${b.reason}), notary-verify ${c.status} (${c.reason})`);
  }
  assert.equal(browser.valid, cli.valid, what);
}
const statusOf = (report, id) => report.checks.find((c) => c.id === id);

test('the browser verifier gives notary-verify\'s verdicts, check for check', async () => {
  const { context, page, errors } = await newPage('en');
  const full = await download(E.EDGE_ID);
  const part = await download(E.EDGE_ID, '?part=2');
  const cases = [];

  // A genuine bundle of a block with a predecessor, and its selective disclosure.
  const genuine = cliReport(full);
  assert.equal(genuine.valid, true, JSON.stringify(genuine.checks));
  assert.equal(statusOf(genuine, 'timestamp.previous').status, 'PASS');
  assert.equal(statusOf(genuine, 'texts.rendered').status, 'PASS');
  cases.push(['genuine', full, genuine]);
  const disclosed = cliReport(part);
  assert.equal(disclosed.valid, true, JSON.stringify(disclosed.checks));
  assert.equal(statusOf(disclosed, 'message.raw_sha256').status, 'SKIP');
  cases.push(['disclosed', part, disclosed]);

  // An erased message's bundle: nothing of the message, its erasure record instead; and the same
  // bundle claiming another reason than the sealed record binds.
  const erasedZip = await download(E.ERASED_ID);
  const erased = cliReport(erasedZip);
  assert.equal(erased.valid, true, JSON.stringify(erased.checks));
  assert.equal(statusOf(erased, 'erasure.record').status, 'PASS');
  assert.equal(statusOf(erased, 'parts.records').status, 'SKIP');
  cases.push(['erased', erasedZip, erased]);
  const reason = rezip(erasedZip, 'agree-erasure-reason', (d) => {
    const p = path.join(d, 'evidence.json');
    const e = JSON.parse(readFileSync(p, 'utf8'));
    e.erasure.details = e.erasure.details.replace('"reason":"test"', '"reason":"a court order"');
    writeFileSync(p, JSON.stringify(e, null, 2) + '\n');
    writeFileSync(path.join(d, 'erasure-details.json'), e.erasure.details);
  });
  const reasonCli = cliReport(reason);
  assert.equal(statusOf(reasonCli, 'erasure.record').status, 'FAIL');
  cases.push(['erasure-reason', reason, reasonCli]);

  // certificate.html or VERIFY.md edited after issue.
  const cert = rezip(full, 'agree-cert', (d) => editFile(d, 'certificate.html',
    (b) => Buffer.from(b.toString('utf8').replace('</h1>', ' (certified)</h1>'))));
  const md = rezip(full, 'agree-md', (d) => editFile(d, 'VERIFY.md',
    (b) => Buffer.concat([b, Buffer.from('\nAlso trust this.\n')])));
  for (const [name, file, edited, other] of [['certificate', cert, 'certificate.html', 'VERIFY.md'],
                                              ['verify-md', md, 'VERIFY.md', 'certificate.html']]) {
    const cli = cliReport(file);
    assert.equal(cli.valid, false);
    assert.deepEqual(cli.checks.filter((c) => c.status === 'FAIL').map((c) => c.id), ['texts.rendered']);
    assert.ok(statusOf(cli, 'texts.rendered').reason.includes(edited));
    assert.ok(!statusOf(cli, 'texts.rendered').reason.includes(other));
    cases.push([name, file, cli, edited, other]);
  }

  // previous_block dropped (and its files): no lower time bound, which must fail.
  const noprev = rezip(full, 'agree-noprev', (d) => {
    const p = path.join(d, 'evidence.json');
    const e = JSON.parse(readFileSync(p, 'utf8'));
    assert.ok(e.previous_block, 'the message must be in a block above height 0');
    for (const f of [e.previous_block.header_file, e.previous_block.signature_file,
                     ...e.previous_block.timestamps.map((t) => t.file)]) rmSync(path.join(d, f));
    e.previous_block = null;
    writeFileSync(p, JSON.stringify(e, null, 2) + '\n');
  });
  const noprevCli = cliReport(noprev);
  assert.equal(statusOf(noprevCli, 'timestamp.previous').status, 'FAIL');
  cases.push(['no-previous-block', noprev, noprevCli]);

  for (const [name, file, cli, edited, other] of cases) {
    const viaPage = await pageReport(page, file);
    assertAgree(viaPage, cli, name + ' (the /verify page)');
    const viaModule = await moduleReport(page, file);
    assertAgree(viaModule, cli, name + ' (verifyBundle)');
    if (edited) {
      const reason = statusOf(viaPage, 'texts.rendered').reason;
      assert.ok(reason.includes(edited) && !reason.includes(other), reason);
    }
  }

  // A key twice in one object: malformed for both (which value counts depends on the reader).
  const dup = rezip(full, 'agree-dup', (d) => editFile(d, 'evidence.json', (b) => {
    const t = b.toString('utf8');
    const m = /\n( *)"lang": ("[a-z]+"),\n/.exec(t);
    assert.ok(m, 'evidence.json has a lang line');
    return Buffer.from(t.replace(m[0], `\n${m[1]}"lang": ${m[2]},\n${m[1]}"lang": "zh",\n`));
  }));
  assert.ok(cliReport(dup).error);
  const dupPage = await pageReport(page, dup);
  assert.equal(dupPage.verdict, 'invalid');
  assert.ok(dupPage.error.includes('twice'), dupPage.error);
  assert.ok((await moduleReport(page, dup)).error.includes('twice'));
  assert.deepEqual(errors, []);
  await context.close();
});

test('the browser re-renders certificate.html and VERIFY.md byte for byte in en, ko and zh', async () => {
  const { context, page, errors } = await newPage('en');
  await page.goto(URL0 + '/verify');
  await ready(page, 'verify');
  for (const id of [E.KOREAN_ID, E.EDGE_ID, E.HOSTILE_ID]) {
    for (const lang of ['en', 'ko', 'zh']) {
      const file = await download(id, '?lang=' + lang);
      const dir = path.join(WORK, 'texts-' + lang);
      rmSync(dir, { recursive: true, force: true });
      execFileSync('unzip', ['-q', '-o', file, '-d', dir]);
      assert.equal(JSON.parse(readFileSync(path.join(dir, 'evidence.json'), 'utf8')).lang, lang);
      const r = await moduleReport(page, file);
      assert.ok(!r.error, r.error);
      assert.ok(Buffer.from(r.certificate, 'base64').equals(readFileSync(path.join(dir, 'certificate.html'))),
                `certificate.html of ${id} in ${lang}`);
      assert.ok(Buffer.from(r.verify, 'base64').equals(readFileSync(path.join(dir, 'VERIFY.md'))),
                `VERIFY.md of ${id} in ${lang}`);
      assert.equal(statusOf(r, 'texts.rendered').status, 'PASS');
      assertAgree(r, cliReport(file), `${id} in ${lang}`);
    }
  }
  // The edge message's texts escape what they show: no raw bidi control, no raw markup.
  const cert = readFileSync(path.join(WORK, 'texts-zh', 'certificate.html'), 'utf8');
  assert.ok(!cert.includes('<script>'), 'the hostile body is not in the certificate');
  assert.ok(!/[\u202a-\u202e\u2066-\u2069\u0080-\u009f]/.test(cert));
  const edgeCert = (await moduleReport(page, await download(E.EDGE_ID))).certificate;
  const edgeText = Buffer.from(edgeCert, 'base64').toString('utf8');
  assert.ok(edgeText.includes('[U+202E]gnp.exe &amp; &lt;b&gt;&quot;q&quot; &#39;a&#39; C1[&#xFFFD;] bidi[[U+2066]] end'), edgeText);
  assert.deepEqual(errors, []);
  await context.close();
});

// Values only certificate.html and VERIFY.md show (issued_to and the TSA names are bound by
// nothing) changed to text that needs every kind of escaping, the texts re-rendered by the
// browser and put back: notary-verify must find them exactly what evidence.json gives.
test('texts the browser renders from hostile evidence are the ones notary-verify renders', async () => {
  const { context, page, errors } = await newPage('en');
  await page.goto(URL0 + '/verify');
  await ready(page, 'verify');
  const nasty = 'x\u202e<i>&amp;"\'\u0007\u0085\u009f\u061c\u200f\u2069\t\n\u007f\u00a0\ufeff\u{1f600}{{l.title}}\r';
  for (const [id, query] of [[E.EDGE_ID, '?lang=ko'], [E.EDGE_ID, '?part=2&lang=zh'], [E.KOREAN_ID, '']]) {
    const file = await download(id, query);
    const edited = rezip(file, 'hostile-values', (d) => editFile(d, 'evidence.json', (b) => {
      const e = JSON.parse(b.toString('utf8'));
      e.issued_to = nasty + e.issued_to;
      for (const blk of [e.block, e.previous_block]) for (const t of blk?.timestamps ?? []) t.tsa = nasty;
      return Buffer.from(JSON.stringify(e, null, 1));
    }));
    const before = await moduleReport(page, edited);
    assert.equal(statusOf(before, 'texts.rendered').status, 'FAIL');
    const rerendered = rezip(edited, 'hostile-rerendered', (d) => {
      writeFileSync(path.join(d, 'certificate.html'), Buffer.from(before.certificate, 'base64'));
      writeFileSync(path.join(d, 'VERIFY.md'), Buffer.from(before.verify, 'base64'));
    });
    const cli = cliReport(rerendered);
    assert.equal(statusOf(cli, 'texts.rendered').status, 'PASS', statusOf(cli, 'texts.rendered').reason);
    assert.equal(cli.valid, true, JSON.stringify(cli.checks.filter((c) => c.status === 'FAIL')));
    assertAgree(await moduleReport(page, rerendered), cli, 'hostile values ' + id + query);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

// DER re-encoding of a TimeStampToken with `edit(tag, body)` applied to every primitive
// element (the TSTInfo inside the eContent OCTET STRING included): lengths are recomputed.
function derTlv(b, o) {
  const tag = b[o];
  let len = b[o + 1], h = 2;
  if (len & 0x80) { const n = len & 0x7f; len = 0; for (let i = 0; i < n; i++) len = len * 256 + b[o + 2 + i]; h += n; }
  return { tag, body: b.subarray(o + h, o + h + len), end: o + h + len };
}
function derEncode(tag, body) {
  const len = [];
  for (let n = body.length; n > 0; n = Math.floor(n / 256)) len.unshift(n & 255);
  return Buffer.concat([Buffer.from(body.length < 128 ? [tag, body.length] : [tag, 0x80 | len.length, ...len]), body]);
}
function derRewrite(b, edit) {
  const t = derTlv(b, 0);
  let kids = null;
  if (t.tag & 0x20) kids = [];
  else if (t.tag === 0x04 && t.body[0] === 0x30 && derTlv(t.body, 0).end === t.body.length) kids = [];
  if (!kids) return edit(t.tag, Buffer.from(t.body)) ?? Buffer.from(b);
  if (t.tag === 0x30) { const r = edit(t.tag, Buffer.from(t.body)); if (r) return r; }
  for (let o = 0; o < t.body.length;) { const k = derTlv(t.body, o); kids.push(derRewrite(t.body.subarray(o, k.end), edit)); o = k.end; }
  return derEncode(t.tag, Buffer.concat(kids));
}
const isAccuracy = (body) => {
  const kids = [];
  for (let o = 0; o < body.length;) { const k = derTlv(body, o); kids.push(k.tag); o = k.end; }
  return kids.length >= 1 && kids.length <= 3 && kids.every((x) => [0x02, 0x80, 0x81].includes(x)) && body.length < 16;
};

// What notary-verify and the browser must render alike although no genuine bundle has it:
// canonical-form.txt and the tokens are replaced (they then fail other checks), the texts are
// re-rendered by the browser, and notary-verify must find them exactly what it renders.
test('edge cases render alike in the browser and notary-verify (canonical form, genTime, accuracy)', async () => {
  const { context, page, errors } = await newPage('en');
  await page.goto(URL0 + '/verify');
  await ready(page, 'verify');
  const full = await download(E.EDGE_ID);
  const rec = (name, value) => Buffer.concat([Buffer.from(`header ${name.length}:${name} ${value.length}:`), value, Buffer.from('\n')]);
  const notUtf8 = Buffer.from('e0a078 eda080 c080 f5808080 ff80 f09f9880 c285 d89c efbbbf 7f00 0d09 e280ae f4908080 e2808f 3c2627 22c3'.replace(/ /g, '20'), 'hex');
  const first = 'notary-canonical 1\n';
  const forms = {
    'not UTF-8, controls, bidi': Buffer.concat([Buffer.from(first), rec('subject', notUtf8), rec('from', notUtf8), rec('to', notUtf8), rec('to', Buffer.from('b')), rec('date', notUtf8)]),
    'an empty subject first': Buffer.concat([Buffer.from(first), rec('subject', Buffer.from('')), rec('subject', Buffer.from('second')), rec('Subject', Buffer.from('caps'))]),
    'other records, an empty tag': Buffer.from(first + 'part 1:1 0: 3:abc\n 1:x\nmultipart \nheader 7:subject 1:s\n'),
    'a 19-digit length': Buffer.from(first + 'header 0000000000000000007:subject 1:b\n'),
    'a 20-digit length': Buffer.from(first + 'header 00000000000000000007:subject 1:b\n'),
    'a record without fields': Buffer.from(first + 'boundary\n'),
    'three fields': Buffer.from(first + 'header 1:a 1:b 1:c\n'),
    'no final newline': Buffer.from(first + 'header 7:subject 1:s'),
    'CRLF': Buffer.from(first.replace('\n', '\r\n') + 'header 7:subject 1:s\r\n'),
    'newlines in values': Buffer.concat([Buffer.from(first), rec('subject', Buffer.from('a\nb')), rec('to', Buffer.from('x\r\ny'))]),
  };
  const times = ['*.332612345Z', '*.5000000Z', '*Z', '*.Z', '*,5Z', '*.5z', '*.5ZZ', '20261204045360.5Z', '20250229120000Z',
                 '20240229120000Z', '00001231235959.999Z', '99991231235959.9999999Z', '+0261204045306Z'];
  const accuracies = ['3007020101800203e8', '3007020101800203e7', '30030201ff', '300702050080000000', '300602047fffffff', '3004810203e7'];
  const variants = [
    ...Object.entries(forms).map(([name, form]) => [name, (d) => writeFileSync(path.join(d, 'canonical-form.txt'), form)]),
    ...[...times.map((t) => ['genTime ' + t, (tag, body) => (tag === 0x18 ? derEncode(0x18, Buffer.from(t.replace('*', body.toString('latin1').slice(0, 14)), 'latin1')) : null)]),
        ...accuracies.map((a) => ['accuracy ' + a, (tag, body) => (tag === 0x30 && isAccuracy(body) ? Buffer.from(a, 'hex') : null)])]
      .map(([name, edit]) => [name, (d) => {
        const p = path.join(d, 'evidence.json');
        const e = JSON.parse(readFileSync(p, 'utf8'));
        for (const b of [e.block, e.previous_block]) {
          for (const t of b?.timestamps ?? []) {
            const der = derRewrite(Buffer.from(t.token_base64, 'base64'), edit);
            t.token_base64 = der.toString('base64');
            writeFileSync(path.join(d, t.file), der);
          }
        }
        writeFileSync(p, JSON.stringify(e, null, 2) + '\n');
      }]),
  ];
  for (const [name, change] of variants) {
    const changed = rezip(full, 'edge-variant', change);
    const browser = await moduleReport(page, changed);
    assert.ok(!browser.error, name + ': ' + browser.error);
    const file = browser.certificate === null ? changed : rezip(changed, 'edge-variant-rendered', (d) => {
      writeFileSync(path.join(d, 'certificate.html'), Buffer.from(browser.certificate, 'base64'));
      writeFileSync(path.join(d, 'VERIFY.md'), Buffer.from(browser.verify, 'base64'));
    });
    const cli = cliReport(file);
    const b = statusOf(browser, 'texts.rendered'), c = statusOf(cli, 'texts.rendered');
    if (browser.certificate === null) {
      assert.ok(b.reason.startsWith('the evidence cannot be rendered'), name + ': ' + b.reason);
      assert.ok(c.status === 'FAIL' && c.reason.startsWith('the evidence cannot be rendered'), `${name}: notary-verify ${c.status} ${c.reason}`);
    } else {
      assert.equal(c.status, 'PASS', `${name}: notary-verify renders other texts: ${c.reason}`);
    }
    // A token the browser cannot parse is one notary-verify cannot parse either, and back.
    for (const id of ['timestamp.block', 'timestamp.previous']) {
      const bt = statusOf(browser, id), ct = statusOf(cli, id);
      const cUnparsed = / is not a time-stamp token: /.test(ct.reason);
      const bUnparsed = bt.status === 'FAIL' && /genTime|accuracy|parse|DER|TSTInfo/.test(bt.reason);
      assert.equal(bUnparsed, cUnparsed, `${name}: ${id}: browser ${bt.status} ${bt.reason}; notary-verify ${ct.status} ${ct.reason}`);
    }
  }
  assert.deepEqual(errors, []);
  await context.close();
});

// The Cases page (issue 23): open a case, add two searches' results, see the counts, the
// changes and a message's custody, export the production with its progress (a zip
// notary-verify passes, its custody then names the export), remove a message with a reason;
// a key without the cases scope, and a lawyer of the other tenant, see none of it.
test('cases: open, add from a search, custody, export with progress, remove; tenants apart', async () => {
  const { context, page, errors } = await newPage('en');
  await signIn(page, E.CASES_KEY);
  await page.click('nav a[href="/cases"]');
  await ready(page, 'cases');
  assert.ok((await page.textContent('main')).includes('No case has been opened yet.'));
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.fill('#case-name', 'Kim v. Lee 계약');
  await page.fill('#case-reference', '2026가합1234');
  await page.click('form.open-case button[type="submit"]');
  await ready(page, 'case');
  assert.equal(await page.textContent('h1.case-name'), 'Kim v. Lee 계약');
  const caseId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  assert.match(caseId, /^[0-9a-f-]{36}$/);
  assert.equal(await page.textContent('#case-count'), '0');
  assert.equal(await page.$('[data-action="export-case"]'), null, 'nothing to export yet');

  // Add from a search: the whole search is recorded, not the page.
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.click('nav a[href="/search"]');
  await ready(page, 'search');
  for (const [subject, id] of [['계약서', E.KOREAN_ID], ['onerror', E.HOSTILE_ID]]) {
    assert.deepEqual(await search(page, { subject }), [id]);
    await page.selectOption('#add-case', caseId);
    await page.fill('#add-reason', 'relevant to the claim');
    await page.click('[data-action="add-to-case"]');
    await page.waitForSelector('form.add-to-case[data-state="added"]');
    assert.match(await page.textContent('#add-status'), /1 messages named/);
  }

  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.click('#add-status a');
  await ready(page, 'case');
  assert.equal(await page.textContent('#case-count'), '2');
  const listed = await page.$$eval('.case-messages tr[data-message-id]', (r) => r.map((x) => x.dataset.messageId));
  assert.deepEqual(listed.sort(), [E.KOREAN_ID, E.HOSTILE_ID].sort());
  // The hostile subject is text, never markup.
  assert.equal(await page.$('.case-messages img'), null);
  const changes = await page.$$eval('table.changes tbody tr', (r) => r.map((x) => [x.dataset.change, x.textContent]));
  assert.equal(changes.length, 2);
  assert.ok(changes.every(([kind, text]) => kind === 'add' && text.includes('relevant to the claim')), JSON.stringify(changes));
  assert.ok(changes[0][1].includes('계약서'), 'the search is shown with its change');

  const custodyEvents = async () => {
    await page.click(`.case-messages tr[data-message-id="${E.KOREAN_ID}"] [data-action="show-custody"]`);
    await page.waitForSelector(`table.custody[data-receipt-id="${E.KOREAN_ID}"]`);
    const events = await page.$$eval('table.custody tbody tr', (r) => r.map((x) => x.dataset.event));
    await page.evaluate(() => document.querySelector('.custody-box').replaceChildren());
    return events;
  };
  const before = await custodyEvents();
  assert.equal(before[0], 'received');
  assert.ok(before.includes('sealed') && before.includes('case-add'), before.join());
  assert.ok(!before.includes('export'));
  await axe(page, 'case');

  // A page at a time (?limit=, as the API's): "Show more" appends the next page of the
  // case's messages, then goes; the cases list pages the same way.
  const rowsOf = (sel) => page.$$eval(sel, (r) => r.map((x) => x.dataset.messageId || x.dataset.caseId));
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.goto(URL0 + '/cases/' + caseId + '?limit=1');
  await ready(page, 'case');
  const firstPage = await rowsOf('.case-messages tr[data-message-id]');
  assert.equal(firstPage.length, 1);
  assert.equal(await page.textContent('#case-shown'), 'Showing 1 of 2.');
  await page.click('[data-action="more-messages"]');
  await page.waitForSelector('[data-action="more-messages"]', { state: 'detached' });
  const both = await rowsOf('.case-messages tr[data-message-id]');
  assert.deepEqual(both.slice().sort(), [E.KOREAN_ID, E.HOSTILE_ID].sort());
  assert.equal(both[0], firstPage[0], 'the next page is appended, not swapped');
  assert.equal(await page.textContent('#case-shown'), 'Showing 2 of 2.');
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.goto(URL0 + '/cases');
  await ready(page, 'cases');
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.fill('#case-name', 'Second matter');
  await page.click('form.open-case button[type="submit"]');
  await ready(page, 'case');
  const second = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.goto(URL0 + '/cases?limit=1');
  await ready(page, 'cases');
  assert.deepEqual(await rowsOf('.case-list tr[data-case-id]'), [second], 'newest first');
  await page.click('[data-action="more-cases"]');
  await page.waitForSelector('[data-action="more-cases"]', { state: 'detached' });
  assert.deepEqual(await rowsOf('.case-list tr[data-case-id]'), [second, caseId]);
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.goto(URL0 + '/cases/' + caseId);
  await ready(page, 'case');

  // Export with progress: the bar reaches 2 of 2 and the browser saves the production.
  await page.fill('#x-prefix', 'KIM');
  await page.selectOption('#x-template', 'kr');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }),
                                        page.click('[data-action="export-case"]')]);
  const zipPath = path.join(WORK, 'console-case.zip');
  await download.saveAs(zipPath);
  await page.waitForSelector('form.export[data-state="ready"]', { timeout: 60000 });
  assert.equal(await page.getAttribute('#export-progress', 'value'), '2');
  assert.equal(await page.getAttribute('#export-progress', 'max'), '2');
  assert.match(await page.textContent('#export-status'), /Built: 2 messages/);
  const v = notaryVerify(zipPath);
  assert.equal(v.code, 0, v.out);
  assert.ok(v.out.includes('PASS  KIM000001'), v.out);
  const text = execFileSync('sh', ['-c', `unzip -p '${zipPath}' certificate.pdf | pdftotext - -`], { encoding: 'utf8' });
  assert.ok(text.includes('전자문서'), 'the Korean template was chosen');
  await shot(page, 'case');
  assert.ok((await custodyEvents()).includes('export'), 'the export is in the custody');

  // Remove one, with a reason.
  await page.check(`.case-messages tr[data-message-id="${E.HOSTILE_ID}"] input[name="pick"]`);
  await page.fill('#remove-reason', 'not about the contract');
  await page.evaluate(() => { document.documentElement.dataset.ready = ''; });
  await page.click('[data-action="remove-messages"]');
  await ready(page, 'case');
  assert.equal(await page.textContent('#case-count'), '1');
  const kinds = await page.$$eval('table.changes tbody tr', (r) => r.map((x) => x.dataset.change));
  assert.deepEqual(kinds, ['add', 'add', 'remove']);
  assert.deepEqual(errors, []);
  await context.close();

  // A key without the cases scope: the page says so; the search has no "add to a case".
  const reader = await newPage('ko');
  await signIn(reader.page, E.READ_KEY);
  assert.deepEqual(await search(reader.page, { subject: '계약서' }), [E.KOREAN_ID]);
  assert.equal(await reader.page.$('form.add-to-case'), null);
  await reader.page.click('nav a[href="/cases"]');
  await ready(reader.page, 'cases');
  assert.ok((await reader.page.textContent('main')).includes('cases 권한'));
  await reader.context.close();

  // The other tenant's lawyer: not in the list, not by its address, not its custody.
  const rival = await newPage('zh');
  await signIn(rival.page, E.RIVAL_CASES_KEY);
  await rival.page.goto(URL0 + '/cases');
  await ready(rival.page, 'cases');
  assert.equal(await rival.page.$(`tr[data-case-id="${caseId}"]`), null);
  await rival.page.goto(URL0 + '/cases/' + caseId);
  await rival.page.waitForSelector('p.error[role="alert"]');
  assert.equal(await rival.page.$('h1.case-name'), null);
  const probes = await rival.page.evaluate(async ({ caseId, id }) => {
    const st = async (u) => (await fetch(u, { credentials: 'same-origin' })).status;
    return [await st('/v1/cases/' + caseId), await st(`/v1/cases/${caseId}/custody?receipt=${id}`),
      await st(`/v1/cases/${caseId}/export`)];
  }, { caseId, id: E.KOREAN_ID });
  assert.deepEqual(probes, [404, 404, 404]);
  await rival.context.close();
});

test('no request left this origin', () => {
  assert.deepEqual(foreignRequests, []);
});

// docs/evidence-bundle.md §4a's cosignature test vector, through the browser verifier's code:
// the pasted witness key verifies its line, another checkpoint does not, no key leaves it
// unchecked.
test('the browser verifier checks a witness cosignature only with the pasted key', async () => {
  const v = await import('../../web/public/verify.js');
  const text = 'notary.example.com/log\n1\nfJVL1CCPIHGhM7rNb4BZJ3PnOGIB0yKs1qGGULIzw10=\n';
  const note =
    text +
    '\n\u2014 notary.example.com/log F3Q8FoMLwTHrRkf4QaxC/L0o+hLcqly7X+ZDnTW7Pqv77uY5bZxL1HcfntmQ7BkMp7iqv2SNFezYHaSgrP3uc0ywdgo=\n' +
    '\u2014 witness.example.org/w1 LOMiNAAAAABpaL+MRpOpjVGQAeOEVT4ZdCpRgAHx5BBz4/dcvc761iRj+3WYuHdjUr3i54T/A0NOEOmE+32T3J+RIf0/rOevxnabBg==\n';
  const key = await v.parseWitnessKey('witness.example.org/w1+2ce32234+BD1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM');
  const [checked] = await v.checkCosignatures(note, [key]);
  assert.deepEqual(checked, { name: 'witness.example.org/w1', keyId: '2ce32234', timeUs: 1768472460e6, status: 'verified' });
  assert.equal((await v.checkCosignatures(note, []))[0].status, 'unchecked');
  const other = note.replace('\n1\n', '\n2\n');
  assert.equal((await v.checkCosignatures(other, [key]))[0].status, 'invalid');
  await assert.rejects(v.parseWitnessKey('witness.example.org/w1+2ce32235+BD1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM'));
});
