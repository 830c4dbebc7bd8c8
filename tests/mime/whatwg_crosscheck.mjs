// Decodes test cases with Chromium's TextDecoder, the reference implementation of the WHATWG
// Encoding Standard, for the cross-check in whatwg_encoding_test.cc
// (WhatwgEncodingCrossCheck.AgreesWithChromium).
//
// Usage: node tests/mime/whatwg_crosscheck.mjs CASES [OUT]
//
// CASES is text, one directive a line, fields separated by one TAB:
//   L <label as hex of its UTF-8>  -> prints `new TextDecoder(label).encoding`, or RangeError
//   E <label>                      -> the label for the D lines that follow; prints nothing
//   D <bytes as hex>               -> prints new TextDecoder(label).decode(bytes) as hex UTF-8
// Lines starting with # and empty lines are ignored. One result line per L and D line, in
// order, goes to OUT (or stdout). All cases run in one page of one headless Chromium, Debian's
// /usr/bin/chromium driven by web/node_modules/playwright-core; nothing downloads a browser.
// Exit status: 0 when every case ran, 1 with a message on stderr otherwise.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CHROMIUM = '/usr/bin/chromium';

function die(message) {
  process.stderr.write(`whatwg_crosscheck: ${message}\n`);
  process.exit(1);
}

// The CASES file as a list of steps: {kind: 'L', label} or {kind: 'D', label, cases: [Buffer]}
// (consecutive D lines under one E line form one step).
function parseCases(text) {
  const steps = [];
  let label = null;
  let batch = null;
  text.split('\n').forEach((line, i) => {
    if (line === '' || line.startsWith('#')) return;
    const [kind, arg, extra] = line.split('\t');
    if (arg === undefined || extra !== undefined) die(`line ${i + 1}: want KIND<TAB>ARGUMENT`);
    if (kind === 'L') {
      steps.push({ kind: 'L', label: Buffer.from(arg, 'hex').toString('utf8') });
      batch = null;
    } else if (kind === 'E') {
      label = arg;
      batch = null;
    } else if (kind === 'D') {
      if (label === null) die(`line ${i + 1}: D before any E`);
      if (!/^([0-9a-f]{2})*$/.test(arg)) die(`line ${i + 1}: not lower-case hex`);
      if (batch === null) {
        batch = { kind: 'D', label, cases: [] };
        steps.push(batch);
      }
      batch.cases.push(Buffer.from(arg, 'hex'));
    } else {
      die(`line ${i + 1}: unknown directive ${JSON.stringify(kind)}`);
    }
  });
  return steps;
}

// Runs in the page: decodes every case of one batch. Input and output travel as base64 of the
// concatenated bytes plus the comma-separated length of each case (one string rather than an
// array: Playwright's protocol validation walks arrays element by element, which is slow).
function decodeBatch({ label, input, lengths }) {
  const fromBase64 = (b64) => {
    const s = atob(b64);
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes;
  };
  const toBase64 = (bytes) => {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  };
  const bytes = fromBase64(input);
  const encoding = new TextDecoder(label).encoding;
  const encoder = new TextEncoder();
  const parts = [];
  const outLengths = [];
  let offset = 0;
  let total = 0;
  for (const n of lengths.split(',').map(Number)) {
    // A new TextDecoder for every case. The standard makes every decode() without
    // {stream: true} start from a new decoder instance, but Chromium 156 carries the
    // ISO-2022-JP decoder's "output" flag over from one call to the next, so that a reused
    // decoder turns a leading escape sequence into U+FFFD.
    const decoder = new TextDecoder(label);
    const utf8 = encoder.encode(decoder.decode(bytes.subarray(offset, offset + n)));
    offset += n;
    parts.push(utf8);
    outLengths.push(utf8.length);
    total += utf8.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { encoding, output: toBase64(out), lengths: outLengths.join(',') };
}

function checkLabels(labels) {
  return labels.map((label) => {
    try {
      return new TextDecoder(label).encoding;
    } catch (e) {
      return e.name;
    }
  });
}

async function main() {
  const [casesPath, outPath] = process.argv.slice(2);
  if (!casesPath) die('usage: node tests/mime/whatwg_crosscheck.mjs CASES [OUT]');
  let chromium;
  try {
    const require = createRequire(new URL('../../web/package.json', import.meta.url));
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    die(`cannot load playwright-core from web/node_modules (run scripts/install-deps): ${e.message}`);
  }
  const steps = parseCases(readFileSync(casesPath, 'latin1'));

  const started = Date.now();
  const profile = mkdtempSync(path.join(os.tmpdir(), 'whatwg-crosscheck-'));
  let context;
  let failure = null;
  const results = [];
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 60000,
    });
    const page = context.pages()[0] ?? await context.newPage();
    for (let i = 0; i < steps.length;) {
      if (steps[i].kind === 'L') {
        // Consecutive label checks go to the page together.
        const run = [];
        while (i < steps.length && steps[i].kind === 'L') run.push(steps[i++].label);
        results.push(...await page.evaluate(checkLabels, run));
        continue;
      }
      const step = steps[i++];
      const input = Buffer.concat(step.cases).toString('base64');
      const lengths = step.cases.map((c) => c.length).join(',');
      const r = await page.evaluate(decodeBatch, { label: step.label, input, lengths });
      // E lines carry the encoding's name, which lower-cased is what .encoding returns.
      if (r.encoding !== step.label.toLowerCase()) {
        throw new Error(`TextDecoder(${JSON.stringify(step.label)}).encoding is ` +
                        JSON.stringify(r.encoding));
      }
      const out = Buffer.from(r.output, 'base64');
      let at = 0;
      for (const n of r.lengths.split(',').map(Number)) {
        results.push(out.subarray(at, at + n).toString('hex'));
        at += n;
      }
    }
  } catch (e) {
    failure = `Chromium (${CHROMIUM}): ${e.message}`;
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  if (failure) die(failure);
  const text = results.join('\n') + '\n';
  if (outPath) writeFileSync(outPath, text);
  else process.stdout.write(text);
  process.stderr.write(`whatwg_crosscheck: ${results.length} results from Chromium in ` +
                       `${Date.now() - started} ms\n`);
}

await main();
