// Opens a message's page in the web console (Debian's Chromium, headless, playwright-core)
// signed in with an API key, and prints what its sender section says, as JSON:
// {"text": "...", "rows": [[heading, value], ...]} or {"text": null} when the page has none;
// with "status" (the status label), "erased" (the erasure note, or null) and "erased_download"
// (the label of the erased bundle's download link, or null) beside.
//   node tests/e2e/console_sender_page.mjs CONSOLE_URL API_KEY RECEIPT_ID LANG(en|ko|zh)
import { createRequire } from "node:module";

const require = createRequire(
  new URL("../../web/package.json", import.meta.url),
);
const { chromium } = require("playwright-core");
const [url, key, id, lang] = process.argv.slice(2);
const LOCALES = { en: "en-US", ko: "ko-KR", zh: "zh-CN" };
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
];
const TIMEOUT = 20000;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ARGS,
  timeout: 60000,
});
try {
  const context = await browser.newContext({ locale: LOCALES[lang] });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const ready = (what) =>
    page.waitForFunction(
      (w) => document.documentElement.dataset.ready === w,
      what,
      { timeout: TIMEOUT },
    );
  await page.goto(url + "/");
  await ready("signin");
  await page.fill('input[name="api_key"]', key);
  await page.evaluate(() => {
    document.documentElement.dataset.ready = "";
  });
  await page.click('form.signin button[type="submit"]');
  await ready("search");
  await page.evaluate(() => {
    document.documentElement.dataset.ready = "";
  });
  await page.goto(url + "/messages/" + encodeURIComponent(id));
  await ready("message");
  const section = await page.$('section[data-section="sender"]');
  const out = section
    ? {
        text: await section.textContent(),
        rows: await section.$$eval("tr", (trs) =>
          trs.map((tr) => [
            tr.querySelector("th").textContent,
            tr.querySelector("td").textContent,
          ]),
        ),
      }
    : { text: null };
  const erased = await page.$("[data-erased]");
  out.erased = erased ? await erased.textContent() : null;
  const download = await page.$('[data-action="download-erased-evidence"]');
  out.erased_download = download ? await download.textContent() : null;
  out.status = await page.$eval("span.status", (e) => e.textContent);
  process.stdout.write(JSON.stringify(out) + "\n");
} finally {
  await browser.close();
}
