// Runs web/public/canonical_v2.js (the JavaScript implementation of canonical form version 2 written
// from the spec) against the test vectors in this folder and reports every difference.
//
// Usage: node tests/data/canonical-v2/run_reference.mjs [--node]
//
// By default the implementation runs in headless Chromium (Debian's /usr/bin/chromium,
// driven by web/node_modules/playwright-core, as tests/mime/whatwg_crosscheck.mjs does), so
// that charsets are decoded by a browser's TextDecoder. With --node it runs in Node.js, whose
// ICU-based TextDecoder departs from the Encoding Standard for some EUC-KR bytes (see
// README.md): the korean_* cases are then expected to differ.
// Exit status: 0 when every case matches, 1 otherwise.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { canonicalizeV2, partRecord } from '../../../web/public/canonical_v2.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const sha256 = (bytes) => createHash('sha256').update(bytes).digest();
const hex = (bytes) => Buffer.from(bytes).toString('hex');

// RFC 9162 §2.1.1 Merkle tree hash over leaf hashes.
function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256(Buffer.alloc(0));
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.concat([Buffer.from([1]), merkleRoot(leaves.slice(0, k)),
    merkleRoot(leaves.slice(k))]));
}

// canonicalizeV2 in Chromium: the module's source, without its `export`s, runs in an empty
// page served from 127.0.0.1 (a secure context, so that crypto.subtle exists).
async function chromiumRunner() {
  const require = createRequire(new URL('../../../web/package.json', import.meta.url));
  const { chromium } = require('playwright-core');
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>canonical v2 reference</title>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const profile = mkdtempSync(path.join(os.tmpdir(), 'canonical-v2-reference-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 60000,
  });
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const source = readFileSync(path.join(HERE, '../../../web/public/canonical_v2.js'), 'utf8')
      .replace(/^export /gm, '');
  await page.addScriptTag({ content: source });
  return {
    version: await page.evaluate(() => navigator.userAgent),
    async canonicalize(bytes) {
      const r = await page.evaluate(async (b64) => {
        const s = atob(b64);
        const input = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) input[i] = s.charCodeAt(i);
        const out = await canonicalizeV2(input);
        let c = '';
        for (const b of out.canonical) c += String.fromCharCode(b);
        return { canonical: btoa(c), parts: out.parts };
      }, Buffer.from(bytes).toString('base64'));
      return { canonical: Buffer.from(r.canonical, 'base64'), parts: r.parts };
    },
    async close() {
      await context.close().catch(() => {});
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function nodeRunner() {
  return {
    version: `Node.js ${process.version}`,
    async canonicalize(bytes) {
      const r = await canonicalizeV2(new Uint8Array(bytes));
      return { canonical: Buffer.from(r.canonical), parts: r.parts };
    },
    async close() {},
  };
}

async function main() {
  const useNode = process.argv.includes('--node');
  const expected = JSON.parse(readFileSync(path.join(HERE, 'expected.json'), 'utf8'));
  const names = readdirSync(HERE).filter((f) => f.endsWith('.eml')).map((f) => f.slice(0, -4))
      .sort();
  const runner = useNode ? nodeRunner() : await chromiumRunner();
  const failures = [];
  try {
    for (const name of names) {
      const want = expected.cases.find((c) => c.name === name);
      const problems = [];
      if (!want) problems.push('missing from expected.json');
      const got = await runner.canonicalize(readFileSync(path.join(HERE, `${name}.eml`)));
      const canonical = readFileSync(path.join(HERE, `${name}.canonical`));
      if (!got.canonical.equals(canonical)) {
        const a = got.canonical.toString('latin1').split('\n');
        const b = canonical.toString('latin1').split('\n');
        const i = a.findIndex((line, j) => line !== b[j]);
        problems.push(`canonical form differs at record ${i + 1}:\n  got  ${
          JSON.stringify(Buffer.from(a[i] ?? '', 'latin1').toString())}\n  want ${
          JSON.stringify(Buffer.from(b[i] ?? '', 'latin1').toString())}`);
      }
      if (want) {
        if (hex(sha256(got.canonical)) !== want.canonical_sha256) {
          problems.push('canonical_sha256 differs');
        }
        if (got.parts.length !== want.parts.length) {
          problems.push(`${got.parts.length} parts, want ${want.parts.length}`);
        }
        const leaves = [];
        got.parts.forEach((p, i) => {
          const w = want.parts[i] ?? {};
          for (const key of ['position', 'content_type', 'charset', 'disposition', 'filename',
            'size', 'sha256', 'mode', 'content_sha256']) {
            if (p[key] !== w[key]) {
              problems.push(`part ${p.position} ${key}: got ${JSON.stringify(p[key])}, want ${
                JSON.stringify(w[key])}`);
            }
          }
          const salt = sha256(Buffer.from(`salt/${name}/${p.position}`, 'ascii'));
          const record = partRecord(p, salt);
          const leaf = sha256(Buffer.concat([Buffer.from([0]), record]));
          if (hex(salt) !== w.salt) problems.push(`part ${p.position}: salt differs`);
          if (hex(record) !== w.record) problems.push(`part ${p.position}: record differs`);
          if (hex(leaf) !== w.leaf_hash) problems.push(`part ${p.position}: leaf_hash differs`);
          leaves.push(leaf);
        });
        if (hex(merkleRoot(leaves)) !== want.parts_root) problems.push('parts_root differs');
      }
      process.stdout.write(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${name}\n`);
      for (const p of problems) process.stdout.write(`     ${p}\n`);
      if (problems.length > 0) failures.push(name);
    }
  } finally {
    await runner.close();
  }
  process.stdout.write(`${names.length - failures.length}/${names.length} cases match (${
    runner.version})\n`);
  process.exit(failures.length === 0 ? 0 : 1);
}

await main();
