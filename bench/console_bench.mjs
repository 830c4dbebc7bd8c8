// console_bench.mjs: timings of the web console in headless Chromium (run by console_bench.sh).
// Environment: CONSOLE_URL, READ_KEY, BUNDLE, NOTARY_VERIFY, TSA_CA.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const E = process.env;
const RUNS = 7;
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless',
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'] });
const context = await browser.newContext({ locale: 'en-US' });
const signin = await context.request.post(E.CONSOLE_URL + '/v1/session', { data: { api_key: E.READ_KEY } });
if (!signin.ok()) throw new Error('sign-in failed: ' + signin.status());

// Milliseconds from navigation start until the page has rendered its data (data-ready set).
async function firstRender(path, what) {
  const page = await context.newPage();
  await page.goto(E.CONSOLE_URL + path);
  await page.waitForFunction((w) => document.documentElement.dataset.ready === w, what, { timeout: 60000 });
  const [ms, api] = await page.evaluate(() => [performance.now(),
    performance.getEntriesByName('search-data')[0].startTime - performance.getEntriesByName('search-request')[0].startTime]);
  const rows = await page.$$eval('tr[data-message-id]', (r) => r.length);
  await page.close();
  return { ms, rows, api };
}
const results = [];
for (const [name, path] of [['search page, 50 rows', '/search'], ['search page, 1,000 rows', '/search?limit=1000']]) {
  const times = [], apis = [];
  let rows = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await firstRender(path, 'search');
    times.push(r.ms); apis.push(r.api); rows = r.rows;
  }
  results.push([name + ` (${rows} rows shown)`, median(times), Math.min(...times)]);
  results.push([`… of which GET /v1/messages (${rows} rows)`, median(apis), Math.min(...apis)]);
}

const verifyTimes = [];
for (let i = 0; i < 5; i++) {
  const page = await context.newPage();
  await page.goto(E.CONSOLE_URL + '/verify');
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'verify');
  await page.setInputFiles('input[name="bundle"]', E.BUNDLE);
  const el = await page.waitForSelector('[data-verdict]', { timeout: 120000 });
  if ((await el.getAttribute('data-verdict')) !== 'valid') throw new Error(await el.textContent());
  verifyTimes.push(Number(await el.getAttribute('data-ms')));
  await page.close();
}
results.push(['in-browser verification, 10 MB attachment', median(verifyTimes), Math.min(...verifyTimes)]);

const cliTimes = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const r = spawnSync(E.NOTARY_VERIFY, [E.BUNDLE, '--tsa-ca', E.TSA_CA]);
  if (r.status !== 0) throw new Error('notary-verify: ' + r.stdout);
  cliTimes.push(performance.now() - t0);
}
results.push(['notary-verify, same bundle (whole process)', median(cliTimes), Math.min(...cliTimes)]);
await browser.close();

console.log('| measurement | median ms | best ms |\n|---|---:|---:|');
for (const [n, m, b] of results) console.log(`| ${n} | ${m.toFixed(0)} | ${b.toFixed(0)} |`);
console.log(`\nratio browser / notary-verify (medians): ${(median(verifyTimes) / median(cliTimes)).toFixed(2)}`);
