// In-browser verification of an evidence bundle (docs/evidence-bundle.md §4), with the same
// check ids, names and order as notary-verify. Nothing leaves the browser: the zip is read
// with DecompressionStream, hashes and Ed25519 signatures use WebCrypto.
//
// What only notary-verify does (docs/verifying.md): the canonical form (check 3), the CMS
// signature and certificate chain of time-stamp tokens (12, 13 check only their message
// imprints here), a newer checkpoint (17), comparing another copy (18) or a file (19), and
// reading a journal report (20: only its hash is checked here, in bundle.files).

export const CHECKS = [
  ['bundle.files', 'Loose copies agree with evidence.json'],
  ['message.raw_sha256', 'Raw hash of message.eml'],
  ['message.canonical_sha256', 'Canonical hash recomputed'],
  ['parts.records', 'Part records and their hashes'],
  ['parts.root', 'Parts root'],
  ['leaf.record', 'Leaf record matches the evidence'],
  ['leaf.hash', 'Leaf hash'],
  ['block.header', 'Block header'],
  ['batch.inclusion', "Leaf included in the block's batch"],
  ['block.signature', "Notary's signature on the block"],
  ['block.hash', 'Block hash'],
  ['timestamp.block', 'Time-stamps on the block'],
  ['timestamp.previous', 'Time-stamps on the previous block'],
  ['timestamp.interval', 'Reception time within the time-stamps'],
  ['checkpoint.signature', 'Checkpoint signature'],
  ['checkpoint.inclusion', "Leaf included in the checkpoint's tree"],
  ['checkpoint.consistency', 'Consistency with a newer checkpoint'],
  ['eml.compare', 'Another copy of the message (--eml)'],
  ['attachment.match', 'A file among the parts (--attachment)'],
  ['journal.report', 'Journal report agrees with the sealed envelope'],
];

const MAX_ENTRIES = 64;
const MAX_TOTAL = 200 * 1024 * 1024;
const enc = new TextEncoder();

// ---------- bytes ----------
export function hex(b) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
function unhex(s) {
  // Lower case only, as the format writes it (docs/evidence-bundle.md §1).
  if (typeof s !== 'string' || s.length % 2 || /[^0-9a-f]/.test(s)) throw new Error('bad hex');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}
function unb64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
export async function sha256(b) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', b));
}
function u32(n) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; }
function u64(n) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b; }
function lp(s) { const b = typeof s === 'string' ? enc.encode(s) : s; return concat(u32(b.length), b); }

class Reader {
  constructor(b) { this.b = b; this.o = 0; this.v = new DataView(b.buffer, b.byteOffset, b.length); }
  need(n) { if (this.o + n > this.b.length) throw new Error('truncated'); }
  bytes(n) { this.need(n); const r = this.b.subarray(this.o, this.o + n); this.o += n; return r; }
  u16() { this.need(2); const r = this.v.getUint16(this.o); this.o += 2; return r; }
  u32() { this.need(4); const r = this.v.getUint32(this.o); this.o += 4; return r; }
  u64() { this.need(8); const r = this.v.getBigUint64(this.o); this.o += 8; return r; }
  str(max) { const n = this.u32(); if (n > max) throw new Error('string too long'); return this.bytes(n); }
  done() { return this.o === this.b.length; }
}

// ---------- evidence.json, read strictly (docs/evidence-bundle.md §3) ----------
// JSON.parse keeps the last of two equal keys while a person reads the first, and passes
// over fields nobody checks: both make a bundle malformed here, as in notary-verify.
const MAX_JSON_DEPTH = 8;
export function parseStrictJson(text) {
  let i = 0;
  const fail = (what) => { throw new Error('evidence.json: ' + what + ' at offset ' + i); };
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const str = () => {
    let out = '';
    i++;  // the opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i++];
      if (c === '"') {
        // Unpaired surrogates are not Unicode text: notary-verify refuses them too.
        if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(out)) fail('unpaired surrogate');
        return out;
      }
      if (c < ' ') fail('control character in a string');
      if (c !== '\\') { out += c; continue; }
      const e = text[i++];
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) out += simple[e];
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.substr(i, 4))) {
        out += String.fromCharCode(parseInt(text.substr(i, 4), 16));
        i += 4;
      } else fail('bad escape');
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 40));
    if (!m || m[0] === '-0') fail('bad number');
    i += m[0].length;
    const n = Number(m[0]);
    // Integers only where the format has them, and only those a double holds exactly.
    if (m[2] || m[3]) return { float: m[0] };
    if (!Number.isSafeInteger(n)) fail('integer too large');
    return n;
  };
  // An explicit stack: no recursion on hostile nesting.
  const stack = [];
  let result;
  const put = (v) => {
    if (!stack.length) { result = v; return; }
    const top = stack[stack.length - 1];
    if (Array.isArray(top.value)) top.value.push(v);
    else top.value[top.key] = v;
  };
  for (;;) {
    ws();
    const top = stack[stack.length - 1];
    if (top && !Array.isArray(top.value) && top.expectKey) {
      if (text[i] === '}' && top.empty) { i++; stack.pop(); put(top.value); }
      else {
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        if (Object.prototype.hasOwnProperty.call(top.value, k)) fail('the key "' + k + '" appears twice in one object');
        ws();
        if (text[i++] !== ':') fail('expected ":"');
        top.key = k; top.expectKey = false; top.empty = false;
        continue;
      }
    } else if (top && Array.isArray(top.value) && top.empty && text[i] === ']') {
      i++; stack.pop(); put(top.value);
    } else {
      const c = text[i];
      if (c === '{' || c === '[') {
        if (stack.length >= MAX_JSON_DEPTH) fail('nested deeper than the format allows');
        i++;
        stack.push(c === '{' ? { value: Object.create(null), expectKey: true, empty: true }
                             : { value: [], empty: true });
        continue;
      }
      if (c === '"') put(str());
      else if (c === '-' || (c >= '0' && c <= '9')) put(number());
      else if (text.startsWith('true', i)) { i += 4; put(true); }
      else if (text.startsWith('false', i)) { i += 5; put(false); }
      else if (text.startsWith('null', i)) { i += 4; put(null); }
      else fail('unexpected character');
    }
    // After a value: a separator, a close, or the end.
    for (;;) {
      ws();
      const t = stack[stack.length - 1];
      if (!t) {
        if (i !== text.length) fail('text after the document');
        return result;
      }
      if (text[i] === ',') {
        i++;
        if (Array.isArray(t.value)) t.empty = false; else t.expectKey = true;
        if (!Array.isArray(t.value)) { ws(); if (text[i] !== '"') fail('expected a key'); }
        break;
      }
      const close = Array.isArray(t.value) ? ']' : '}';
      if (text[i] !== close) fail('expected "," or "' + close + '"');
      i++; stack.pop(); put(t.value);
    }
  }
}

// The schema of evidence.json: every object's fields, exactly (readers reject unknown ones).
const S = {
  str: (v) => typeof v === 'string',
  u64: (v) => typeof v === 'number' && v >= 0,
  i64: (v) => typeof v === 'number',
  bool: (v) => typeof v === 'boolean',
  hash: (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v),
  hex: (v) => typeof v === 'string' && v.length % 2 === 0 && /^[0-9a-f]*$/.test(v),
  b64: (v) => typeof v === 'string' && /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v),
};
const arrayOf = (item, max) => ({ array: item, max });
const nullable = (t) => ({ nullable: t });
const TOKEN = { tsa: 'str', file: 'str', token_base64: 'b64' };
const BLOCK = {
  height: 'u64', header_hex: 'hex', header_file: 'str', signature_hex: 'hex',
  signature_file: 'str', hash: 'hash', timestamps: arrayOf(TOKEN, 16),
};
const PART = {
  position: 'str', redacted: 'bool', content_type: 'str', charset: 'str', disposition: 'str',
  filename: 'str', size: 'u64', sha256: 'hash', record_leaf_hash: 'hash',
};
const REDACTED_PART = { position: 'str', redacted: 'bool', record_leaf_hash: 'hash' };
const EVIDENCE = {
  format: 'str', format_version: 'u64', issued_to: 'str', issued_at_us: 'i64', lang: 'str',
  receipt: {
    id: 'str', tenant: 'str', received_at_us: 'i64',
    envelope: {
      mail_from: 'str', recipients: arrayOf('str', Infinity), client_ip: 'str',
      client_port: 'u64', helo: 'str', tls_protocol: 'str', tls_cipher: 'str',
    },
    client_name: 'str', auth_user: 'str', queue_id: 'str', node: 'str', source: 'str',
  },
  message: {
    file: nullable('str'), raw_sha256: 'hash', canonical_sha256: 'hash', canon_version: 'u64',
    disclosed_part: nullable({ position: 'str', file: 'str' }),
  },
  parts: arrayOf('part', 10000),
  parts_root: 'hash',
  journal_report: { optional: nullable({ file: 'str', sha256: 'hash', size: 'u64' }) },
  leaf: { record_hex: 'hex', file: 'str', index: 'u64', hash: 'hash' },
  batch_proof: { index: 'u64', size: 'u64', hashes: arrayOf('hash', 128) },
  block: BLOCK,
  previous_block: nullable(BLOCK),
  checkpoint: { note: 'str', file: 'str', tree_size: 'u64', inclusion_proof: arrayOf('hash', 128) },
  keys: arrayOf({
    key_id: 'str', algorithm: 'str', public_key_pem: 'str', fingerprint: 'str',
    valid_from_us: 'i64', valid_until_us: nullable('i64'), file: 'str',
  }, 16),
  tsa: { ca_pem: 'str', ca_file: 'str', chain_pem: 'str', chain_file: nullable('str') },
};
function checkShape(v, t, path) {
  const bad = (what) => { throw new Error('evidence.json: ' + path + ': ' + what); };
  if (typeof t === 'string') {
    if (t === 'part') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('not an object');
      return checkShape(v, v.redacted === true ? REDACTED_PART : PART, path);
    }
    if (!S[t](v)) bad('not ' + t);
    return;
  }
  if (t.optional !== undefined) return v === undefined ? undefined : checkShape(v, t.optional, path);
  if (t.nullable !== undefined) return v === null ? undefined : checkShape(v, t.nullable, path);
  if (t.array !== undefined) {
    if (!Array.isArray(v) || v.length > t.max) bad('not an array of at most ' + t.max);
    v.forEach((x, k) => checkShape(x, t.array, path + '[' + k + ']'));
    return;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('not an object');
  for (const k of Object.keys(v)) if (!(k in t)) bad('unknown field ' + k);
  for (const [k, sub] of Object.entries(t)) {
    if (!(k in v) && sub.optional === undefined) bad('missing ' + k);
    checkShape(v[k], sub, path ? path + '.' + k : k);
  }
}
// evidence.json bytes -> the document, or an Error naming what is malformed.
export function readEvidence(bytes) {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const e = parseStrictJson(text);
  checkShape(e, EVIDENCE, '');
  if (e.format !== 'email-notary-evidence-bundle' || e.format_version !== 1) {
    throw new Error('evidence.json: not an evidence bundle of format version 1');
  }
  return e;
}

// ---------- zip (docs/evidence-bundle.md §5: hostile input) ----------
async function inflate(data, budget) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const chunks = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > budget) { await reader.cancel(); throw new Error('the bundle inflates past 200 MiB'); }
    chunks.push(value);
  }
  return { bytes: concat(...chunks), size: n };
}

export async function readZip(bytes) {
  if (bytes.length > MAX_TOTAL) throw new Error('the zip is larger than 200 MiB');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (v.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a zip file');
  const count = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  if (count > MAX_ENTRIES) throw new Error('more than 64 entries');
  const files = new Map();
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > bytes.length || v.getUint32(p, true) !== 0x02014b50) throw new Error('bad central directory');
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const csize = v.getUint32(p + 20, true);
    const nlen = v.getUint16(p + 28, true);
    const elen = v.getUint16(p + 30, true);
    const clen = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nlen));
    p += 46 + nlen + elen + clen;
    if (flags & 1) throw new Error('encrypted entry ' + name);
    if (['block/', 'tokens/', 'keys/'].includes(name)) continue;
    if (!/^((block|tokens|keys)\/)?[A-Za-z0-9._-]+$/.test(name) || name.includes('..')) {
      throw new Error('unsafe entry name');
    }
    if (files.has(name)) throw new Error('duplicate entry ' + name);
    if (local + 30 > bytes.length || v.getUint32(local, true) !== 0x04034b50) throw new Error('bad local header');
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    if (start + csize > bytes.length) throw new Error('truncated entry ' + name);
    const data = bytes.subarray(start, start + csize);
    let out;
    if (method === 0) {
      out = data;
      total += data.length;
      if (total > MAX_TOTAL) throw new Error('the bundle inflates past 200 MiB');
    } else if (method === 8) {
      const r = await inflate(data, MAX_TOTAL - total);
      total += r.size;
      out = r.bytes;
    } else {
      throw new Error('unsupported compression in ' + name);
    }
    files.set(name, out);
  }
  return files;
}

// ---------- DER, just enough for a TimeStampToken's TSTInfo ----------
function der(b, o = 0) {
  if (o + 2 > b.length) throw new Error('truncated DER');
  const tag = b[o];
  let len = b[o + 1];
  let h = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[o + 2 + i];
    h += n;
  }
  if (o + h + len > b.length) throw new Error('truncated DER');
  return { tag, body: b.subarray(o + h, o + h + len), end: o + h + len };
}
function children(b) {
  const out = [];
  for (let o = 0; o < b.length;) { const t = der(b, o); out.push(t); o = t.end; }
  return out;
}
const SHA256_OID = unhex('608648016503040201');
const TSTINFO_OID = unhex('2a864886f70d0109100104');

function parseGeneralizedTime(s) {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,6}))?Z$/.exec(s);
  if (!m) throw new Error('bad genTime');
  const us = BigInt(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) * 1000n +
      BigInt((m[7] || '').padEnd(6, '0'));
  return us;
}
function intValue(b) { let n = 0n; for (const x of b) n = n * 256n + BigInt(x); return n; }

// Returns {imprint, genTimeUs, accuracyUs} of a DER TimeStampToken.
export function parseToken(tok) {
  const ci = children(der(tok).body);
  const sd = children(der(ci[1].body).body);  // [0] EXPLICIT SignedData
  const encap = children(sd[2].body);
  if (!equal(encap[0].body, TSTINFO_OID)) throw new Error('not a TSTInfo');
  const octets = der(encap[1].body);  // [0] EXPLICIT OCTET STRING
  const tst = children(der(octets.body).body);
  const mi = children(tst[2].body);
  const alg = children(mi[0].body);
  if (!equal(alg[0].body, SHA256_OID)) throw new Error('message imprint is not SHA-256');
  const genTimeUs = parseGeneralizedTime(new TextDecoder().decode(tst[4].body));
  let accuracyUs = 0n;
  if (tst.length > 5 && tst[5].tag === 0x30) {
    for (const a of children(tst[5].body)) {
      if (a.tag === 0x02) accuracyUs += intValue(a.body) * 1000000n;
      else if (a.tag === 0x80) accuracyUs += intValue(a.body) * 1000n;
      else if (a.tag === 0x81) accuracyUs += intValue(a.body);
    }
  }
  return { imprint: mi[1].body, genTimeUs, accuracyUs };
}

// ---------- Merkle (RFC 9162 §2.1) ----------
async function nodeHash(l, r) { return sha256(concat(Uint8Array.of(1), l, r)); }
async function leafHash(b) { return sha256(concat(Uint8Array.of(0), b)); }
async function mth(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}
// §2.1.3.2; returns the computed root or null.
export async function rootFromInclusion(index, size, leaf, path) {
  if (index >= size) return null;
  let fn = BigInt(index), sn = BigInt(size) - 1n, r = leaf;
  for (const p of path) {
    if (sn === 0n) return null;
    if (fn % 2n === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2n === 0n) { while (fn % 2n === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; } }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

// ---------- keys ----------
const SPKI_PREFIX = unhex('302a300506032b6570032100');
export async function keyFromPem(pem) {
  const m = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(pem || '');
  if (!m) throw new Error('not a PEM public key');
  const spki = unb64(m[1].replace(/\s+/g, ''));
  if (spki.length !== 44 || !equal(spki.subarray(0, 12), SPKI_PREFIX)) throw new Error('not an Ed25519 key');
  const fingerprint = hex(await sha256(spki));
  const key = await crypto.subtle.importKey('spki', spki, { name: 'Ed25519' }, false, ['verify']);
  return { key, raw: spki.subarray(12), fingerprint, keyId: fingerprint.slice(0, 16) };
}
async function ed25519Verify(k, sig, msg) {
  try { return await crypto.subtle.verify({ name: 'Ed25519' }, k.key, sig, msg); } catch { return false; }
}

// ---------- records ----------
const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
function decodeHeader(b) {
  const r = new Reader(b);
  const h = {
    version: r.u32(), height: r.u64(), prev: r.bytes(32), batchRoot: r.bytes(32),
    first: r.u64(), count: r.u64(), treeSize: r.u64(), treeRoot: r.bytes(32),
    sealedAt: r.u64(), keyId: utf8Fatal.decode(r.str(64)),
  };
  if (!r.done() || h.version !== 1) throw new Error('bad block header');
  return h;
}
function decodeLeaf(b) {
  const r = new Reader(b);
  const tag = new TextDecoder().decode(r.bytes(18));
  if (tag !== 'email-notary/leaf\n') throw new Error('wrong leaf tag');
  if (r.u32() !== 1) throw new Error('unknown leaf version');
  const l = {
    receiptId: utf8Fatal.decode(r.str(64)), receivedAt: r.u64(), raw: r.bytes(32),
    canonical: r.bytes(32), canonVersion: r.u32(), partsRoot: r.bytes(32), envelope: r.bytes(32),
    tenant: utf8Fatal.decode(r.str(64)), salt: r.bytes(32),
  };
  if (!r.done()) throw new Error('trailing bytes in the leaf record');
  return l;
}
function encodeEnvelope(e) {
  const parts = [enc.encode('email-notary/envelope/v1\n'), lp(e.mail_from), u32(e.recipients.length)];
  for (const r of e.recipients) parts.push(lp(r));
  const port = new Uint8Array(2); new DataView(port.buffer).setUint16(0, e.client_port);
  parts.push(lp(e.client_ip), port, lp(e.helo), lp(e.tls_protocol), lp(e.tls_cipher));
  return concat(...parts);
}
function encodePartRecord(p) {
  return concat(u32(1), lp(p.position), lp(p.content_type), lp(p.charset), lp(p.disposition),
                lp(p.filename), u64(p.size), unhex(p.sha256));
}

// ---------- a small MIME walker: decoded bytes of each leaf part, by position ----------
const latin1 = new TextDecoder('latin1');
function splitHeaderBody(b) {
  const s = latin1.decode(b.subarray(0, Math.min(b.length, 1 << 20)));
  const m = /\r?\n\r?\n/.exec(s);
  if (!m) return { headers: s, body: new Uint8Array(0) };
  if (/^\r?\n/.test(s)) return { headers: '', body: b.subarray(s.indexOf('\n') + 1) };
  return { headers: s.slice(0, m.index), body: b.subarray(m.index + m[0].length) };
}
function header(headers, name) {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp('^' + name + '[ \\t]*:(.*)$', 'im');
  const m = re.exec(unfolded);
  return m ? m[1].trim() : '';
}
function param(value, name) {
  const m = new RegExp(';\\s*' + name + '\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))', 'i').exec(value);
  return m ? (m[1] ?? m[2]) : '';
}
function toCrlf(b) {
  // §1: line ends become CRLF before parsing. Mail is mostly CRLF already: then no copy.
  let bare = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a && (i === 0 || b[i - 1] !== 0x0d)) bare++;
    else if (b[i] === 0x0d && b[i + 1] !== 0x0a) bare++;
  }
  if (bare === 0) return b;
  const out = new Uint8Array(b.length + bare);
  let o = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a && (i === 0 || b[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = b[i];
    if (b[i] === 0x0d && b[i + 1] !== 0x0a) out[o++] = 0x0a;
  }
  return out;
}
const B64 = new Uint8Array(256).fill(255);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
function decodeBody(body, cte) {
  cte = cte.toLowerCase();
  if (cte === 'base64') {
    // Like a mail client: bytes outside the alphabet (line ends, padding) are skipped.
    const out = new Uint8Array(Math.floor(body.length * 3 / 4) + 3);
    let o = 0, acc = 0, n = 0;
    for (let i = 0; i < body.length; i++) {
      const v = B64[body[i]];
      if (v === 255) continue;
      acc = (acc << 6) | v;
      if (++n === 4) {
        out[o++] = acc >> 16; out[o++] = (acc >> 8) & 0xff; out[o++] = acc & 0xff;
        acc = 0; n = 0;
      }
    }
    if (n === 2) out[o++] = acc >> 4;
    else if (n === 3) { out[o++] = acc >> 10; out[o++] = (acc >> 2) & 0xff; }
    return out.subarray(0, o);
  }
  if (cte === 'quoted-printable') {
    // RFC 2045 §6.7 on the bytes: trailing blanks dropped, soft breaks removed, =XX decoded.
    const out = new Uint8Array(body.length);
    const isHex = (x) => (x >= 0x30 && x <= 0x39) || (x >= 0x41 && x <= 0x46) || (x >= 0x61 && x <= 0x66);
    let o = 0, lineStart = 0;
    for (let i = 0; i < body.length; i++) {
      const x = body[i];
      if (x === 0x0d && body[i + 1] === 0x0a) {
        while (o > lineStart && (out[o - 1] === 0x20 || out[o - 1] === 0x09)) o--;
        out[o++] = 0x0d; out[o++] = 0x0a; i++; lineStart = o;
      } else if (x === 0x3d && body[i + 1] === 0x0d && body[i + 2] === 0x0a) {
        i += 2;
      } else if (x === 0x3d && isHex(body[i + 1] ?? 0) && isHex(body[i + 2] ?? 0)) {
        out[o++] = parseInt(String.fromCharCode(body[i + 1], body[i + 2]), 16); i += 2;
      } else out[o++] = x;
    }
    return out.subarray(0, o);
  }
  if (['', '7bit', '8bit', 'binary'].includes(cte)) return body;
  return null;  // x-uuencode and the rest: notary-verify only
}
// Byte offsets equal string offsets: the single-byte decoder maps each byte to one unit.
function multipartChildren(body, boundary) {
  const text = latin1.decode(body);
  const delim = '--' + boundary;
  const kids = [];
  let p = text.startsWith(delim) ? 0 : text.indexOf('\r\n' + delim);
  if (p > 0) p += 2;
  while (p >= 0) {
    let start = p + delim.length;
    if (text.startsWith('--', start)) break;  // closing delimiter
    const eol = text.indexOf('\r\n', start);
    if (eol < 0) break;
    start = eol + 2;
    let next = text.indexOf('\r\n' + delim, start - 2);
    if (next < 0) next = body.length;
    kids.push(body.subarray(start, Math.max(start, next)));
    p = next === body.length ? -1 : next + 2;
  }
  return kids;
}
export function mimeLeaves(eml) {
  const leaves = new Map();
  const stack = [{ bytes: toCrlf(eml), pos: '', top: true }];
  while (stack.length) {
    const { bytes, pos, top } = stack.pop();
    const { headers, body } = splitHeaderBody(bytes);
    const ctype = header(headers, 'Content-Type');
    const type = (ctype.split(';')[0] || '').trim().toLowerCase();
    if (type.startsWith('multipart/') && param(ctype, 'boundary')) {
      const kids = multipartChildren(body, param(ctype, 'boundary'));
      for (let i = kids.length - 1; i >= 0; i--) {
        stack.push({ bytes: kids[i], pos: pos ? pos + '.' + (i + 1) : String(i + 1) });
      }
      continue;
    }
    // A message/rfc822 part's bytes are the embedded message as GMime rewrites it: left to
    // notary-verify, like encodings this walker does not decode (null).
    leaves.set(top ? '1' : pos, type === 'message/rfc822' ? null
                                : decodeBody(body, header(headers, 'Content-Transfer-Encoding')));
  }
  return leaves;
}

// ---------- the checks ----------
function num(x) { return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0; }
function fmtUs(us) { return new Date(Number(BigInt(us) / 1000n)).toISOString(); }

// `trusted`: null (use the bundle's own keys: self-declared) or [{fingerprint, public_key_pem}].
export async function verifyBundle(files, trusted) {
  const results = new Map();
  const set = (id, status, reason) => { if (!results.has(id)) results.set(id, { status, reason }); };
  const pass = (id, reason) => set(id, 'PASS', reason);
  const fail = (id, reason) => set(id, 'FAIL', reason);
  const skip = (id, reason) => set(id, 'SKIP', reason);
  const out = { keyFingerprint: null, keySelfDeclared: trusted === null, receiptId: null };

  const ejson = files.get('evidence.json');
  if (!ejson) throw new Error('not an evidence bundle: evidence.json is missing');
  let e;
  try {
    e = readEvidence(ejson);
  } catch (err) {
    throw new Error('not an evidence bundle: ' + err.message);
  }
  out.receiptId = String(e.receipt?.id ?? '');
  out.receivedAtUs = e.receipt?.received_at_us;
  const disclosed = e.message?.disclosed_part ?? null;

  // 1. bundle.files
  try {
    const expect = new Map([['evidence.json', ejson], ['certificate.html', null], ['VERIFY.md', null]]);
    if (disclosed) expect.set(disclosed.file, null); else expect.set('message.eml', null);
    expect.set(e.leaf.file, unhex(e.leaf.record_hex));
    for (const b of [e.block, e.previous_block]) {
      if (!b) continue;
      expect.set(b.header_file, unhex(b.header_hex));
      expect.set(b.signature_file, unhex(b.signature_hex));
      for (const t of b.timestamps) expect.set(t.file, unb64(t.token_base64));
    }
    for (const k of e.keys) expect.set(k.file, enc.encode(k.public_key_pem));
    expect.set(e.checkpoint.file, enc.encode(e.checkpoint.note));
    expect.set(e.tsa.ca_file, enc.encode(e.tsa.ca_pem));
    if (e.tsa.chain_file) expect.set(e.tsa.chain_file, enc.encode(e.tsa.chain_pem));
    const problems = [];
    const report = e.journal_report ?? null;
    if (report) {
      expect.set(report.file, null);
      const got = files.get(report.file);
      if (got && hex(await sha256(got)) !== report.sha256) problems.push(report.file + ' differs from evidence.json');
    }
    for (const [name, want] of expect) {
      const got = files.get(name);
      if (!got) problems.push(name + ' is missing');
      else if (want && !equal(got, want)) problems.push(name + ' differs from evidence.json');
    }
    for (const name of files.keys()) if (!expect.has(name)) problems.push('unexpected file ' + name);
    if (problems.length) fail('bundle.files', problems.join('; '));
    else pass('bundle.files', expect.size + ' files, every loose copy equals evidence.json');
  } catch (err) {
    fail('bundle.files', 'evidence.json is inconsistent: ' + err.message);
  }

  // 2. message.raw_sha256, 3. message.canonical_sha256
  const eml = files.get('message.eml');
  if (disclosed) {
    skip('message.raw_sha256', 'one attachment disclosed; message.eml is not in the bundle');
    skip('message.canonical_sha256', 'one attachment disclosed; message.eml is not in the bundle');
  } else if (!eml) {
    fail('message.raw_sha256', 'message.eml is missing');
    fail('message.canonical_sha256', 'message.eml is missing');
  } else {
    const raw = hex(await sha256(eml));
    if (raw === e.message.raw_sha256) pass('message.raw_sha256', 'SHA-256 ' + raw);
    else fail('message.raw_sha256', 'message.eml has SHA-256 ' + raw + ', evidence.json states ' + e.message.raw_sha256);
    skip('message.canonical_sha256', 'not checked in the browser: run notary-verify (canonical form)');
  }

  // 4. parts.records
  const recordHashes = [];
  try {
    const leaves = eml && !disclosed ? mimeLeaves(eml) : null;
    const problems = [];
    let unchecked = 0;
    for (const p of e.parts) {
      if (p.redacted) { recordHashes.push(unhex(p.record_leaf_hash)); continue; }
      let content = null;
      if (disclosed && p.position === disclosed.position) content = files.get(disclosed.file);
      else if (leaves) content = leaves.has(p.position) ? leaves.get(p.position) : undefined;
      if (content === undefined) problems.push('part ' + p.position + ' not found in message.eml');
      else if (content === null) unchecked++;
      else {
        const h = hex(await sha256(content));
        if (h !== p.sha256 || content.length !== p.size) {
          problems.push('part ' + p.position + ' has SHA-256 ' + h + ' and ' + content.length + ' bytes');
        }
      }
      const rh = await leafHash(encodePartRecord(p));
      if (hex(rh) !== p.record_leaf_hash) problems.push('record of part ' + p.position + ' does not give its record_leaf_hash');
      recordHashes.push(rh);
    }
    if (leaves && leaves.size !== e.parts.length) problems.push('message.eml has ' + leaves.size + ' parts, evidence.json lists ' + e.parts.length);
    if (disclosed && !files.get(disclosed.file)) problems.push(disclosed.file + ' is missing');
    if (problems.length) fail('parts.records', problems.join('; '));
    else pass('parts.records', e.parts.length + ' part records' +
              (unchecked ? ' (' + unchecked + ' in a transfer encoding only notary-verify decodes)' : ''));
  } catch (err) {
    fail('parts.records', err.message);
  }

  // 5. parts.root
  if (recordHashes.length === e.parts.length) {
    const root = hex(await mth(recordHashes));
    if (root === e.parts_root) pass('parts.root', root);
    else fail('parts.root', 'recomputed ' + root + ', evidence.json states ' + e.parts_root);
  } else fail('parts.root', 'the part records could not be read');

  // 6. leaf.record, 7. leaf.hash
  let leafBytes = null, leafH = null;
  try {
    leafBytes = unhex(e.leaf.record_hex);
    const l = decodeLeaf(leafBytes);
    const env = hex(await sha256(encodeEnvelope(e.receipt.envelope)));
    const diffs = [];
    if (l.receiptId !== e.receipt.id) diffs.push('receipt_id');
    if (l.receivedAt !== BigInt(e.receipt.received_at_us)) diffs.push('received_at_us');
    if (hex(l.raw) !== e.message.raw_sha256) diffs.push('raw_sha256');
    if (hex(l.canonical) !== e.message.canonical_sha256) diffs.push('canonical_sha256');
    if (l.canonVersion !== e.message.canon_version) diffs.push('canonical_version');
    if (hex(l.partsRoot) !== e.parts_root) diffs.push('parts_root');
    if (l.tenant !== e.receipt.tenant) diffs.push('tenant');
    if (hex(l.envelope) !== env) diffs.push('envelope_digest');
    if (diffs.length) fail('leaf.record', 'the leaf record differs in ' + diffs.join(', '));
    else pass('leaf.record', 'receipt ' + l.receiptId + ', envelope digest ' + env);
  } catch (err) {
    fail('leaf.record', 'cannot decode the leaf record: ' + err.message);
  }
  if (leafBytes) {
    leafH = await leafHash(leafBytes);
    if (hex(leafH) === e.leaf.hash) pass('leaf.hash', hex(leafH));
    else { fail('leaf.hash', 'recomputed ' + hex(leafH) + ', evidence.json states ' + e.leaf.hash); }
  } else fail('leaf.hash', 'no leaf record');

  // 8. block.header
  let hdr = null;
  try {
    hdr = decodeHeader(unhex(e.block.header_hex));
    const idx = BigInt(e.leaf.index);
    const problems = [];
    if (hdr.count < 1n || hdr.first + hdr.count !== hdr.treeSize) problems.push('leaf_count/tree_size');
    if ((hdr.height === 0n) !== hdr.prev.every((x) => x === 0)) problems.push('prev_block_hash');
    if (hdr.height !== BigInt(e.block.height)) problems.push('height');
    if (idx < hdr.first || idx >= hdr.treeSize) problems.push('the leaf is outside the block');
    if (BigInt(e.batch_proof.index) !== idx - hdr.first || BigInt(e.batch_proof.size) !== hdr.count) problems.push('batch_proof index/size');
    if (problems.length) { fail('block.header', problems.join('; ')); hdr = null; }
    else pass('block.header', 'height ' + hdr.height + ', leaves ' + hdr.first + '..' + (hdr.treeSize - 1n));
  } catch (err) {
    fail('block.header', err.message);
  }

  // 9. batch.inclusion
  if (hdr && leafH) {
    const root = await rootFromInclusion(e.batch_proof.index, e.batch_proof.size, leafH,
                                         e.batch_proof.hashes.map(unhex)).catch(() => null);
    if (root && equal(root, hdr.batchRoot)) pass('batch.inclusion', 'leaf ' + e.batch_proof.index + ' of ' + e.batch_proof.size + ' gives batch_root ' + hex(hdr.batchRoot));
    else fail('batch.inclusion', 'the proof does not lead to batch_root ' + hex(hdr.batchRoot));
  } else fail('batch.inclusion', 'needs the block header and the leaf hash');

  // Keys: trusted ones (published by this notary) or the bundle's own (self-declared).
  const bundleKeys = [];
  for (const k of e.keys) {
    try {
      const pk = await keyFromPem(k.public_key_pem);
      if (pk.fingerprint === k.fingerprint && pk.keyId === k.key_id) bundleKeys.push({ ...pk, entry: k });
    } catch { /* an entry that does not match its PEM is ignored (§4 check 10) */ }
  }
  const trustedFps = trusted ? new Set(trusted.map((t) => t.fingerprint)) : null;
  const keyFor = (keyId) => {
    const k = bundleKeys.find((x) => x.keyId === keyId);
    if (!k) return { error: 'no key ' + keyId + ' in the bundle' };
    if (trustedFps && !trustedFps.has(k.fingerprint)) return { error: 'key ' + k.fingerprint + ' is not one this notary publishes' };
    return { key: k };
  };
  async function blockSig(b, h) {
    const k = keyFor(h.keyId);
    if (k.error) return k.error;
    const ok = await ed25519Verify(k.key, unhex(b.signature_hex), concat(enc.encode('email-notary/block/v1\n'), unhex(b.header_hex)));
    if (!ok) return 'the Ed25519 signature does not verify with key ' + k.key.fingerprint;
    const from = BigInt(k.key.entry.valid_from_us);
    const until = k.key.entry.valid_until_us == null ? null : BigInt(k.key.entry.valid_until_us);
    if (h.sealedAt < from || (until !== null && h.sealedAt >= until)) return 'sealed outside the key\'s validity';
    out.keyFingerprint = k.key.fingerprint;
    return null;
  }

  // 10. block.signature, 11. block.hash
  let blockHash = null;
  if (hdr) {
    const err = await blockSig(e.block, hdr);
    if (err) fail('block.signature', err);
    else pass('block.signature', 'Ed25519 by key ' + out.keyFingerprint + (trusted ? ' (published by this notary)' : ' (self-declared)'));
    blockHash = await sha256(concat(unhex(e.block.header_hex), unhex(e.block.signature_hex)));
    if (hex(blockHash) === e.block.hash) pass('block.hash', hex(blockHash));
    else fail('block.hash', 'recomputed ' + hex(blockHash) + ', evidence.json states ' + e.block.hash);
  } else {
    fail('block.signature', 'needs the block header');
    fail('block.hash', 'needs the block header');
  }

  // 12. timestamp.block: message imprints (the CMS signature is notary-verify's).
  async function imprints(b, h) {
    if (!b.timestamps.length) return { error: 'no time-stamp token' };
    let earliest = null, latest = null;
    for (const t of b.timestamps) {
      let tok;
      try { tok = parseToken(unb64(t.token_base64)); } catch (err) { return { error: t.file + ': ' + err.message }; }
      if (!equal(tok.imprint, h)) return { error: t.file + ': message imprint ' + hex(tok.imprint) + ' is not the block hash' };
      const hi = tok.genTimeUs + tok.accuracyUs, lo = tok.genTimeUs - tok.accuracyUs;
      if (earliest === null || hi < earliest) earliest = hi;
      if (latest === null || lo > latest) latest = lo;
    }
    return { notAfter: earliest, notBefore: latest, n: b.timestamps.length };
  }
  let notAfter = null, notBefore = null;
  if (blockHash && hex(blockHash) === e.block.hash) {
    const r = await imprints(e.block, blockHash);
    if (r.error) fail('timestamp.block', r.error);
    else {
      notAfter = r.notAfter;
      pass('timestamp.block', r.n + ' token(s) over the block hash, no later than ' + fmtUs(notAfter) +
           '; CMS signatures and TSA certificates: checked by notary-verify only');
    }
  } else fail('timestamp.block', 'needs the block hash');

  // 13. timestamp.previous
  if (!hdr) {
    fail('timestamp.previous', 'needs the block header');
  } else if (!e.previous_block) {
    // Without its predecessor a block has no lower time bound: only the genesis block may lack it.
    if (hdr.height === 0n) skip('timestamp.previous', 'the genesis block has no predecessor');
    else fail('timestamp.previous', 'block ' + hdr.height + ' is not the genesis block, but the bundle carries no previous block');
  } else if (hdr.height === 0n) {
    fail('timestamp.previous', 'the genesis block has no previous block, yet the bundle gives one');
  } else {
    try {
      const pb = e.previous_block;
      const ph = decodeHeader(unhex(pb.header_hex));
      const h = await sha256(concat(unhex(pb.header_hex), unhex(pb.signature_hex)));
      const problems = [];
      if (ph.height + 1n !== hdr.height) problems.push('height is not ' + (hdr.height - 1n));
      if (hex(h) !== pb.hash || !equal(h, hdr.prev)) problems.push('its hash is not the block\'s prev_block_hash');
      const sigErr = problems.length ? null : await blockSig(pb, ph);
      if (sigErr) problems.push(sigErr);
      let r = null;
      if (!problems.length) { r = await imprints(pb, h); if (r.error) problems.push(r.error); }
      if (problems.length) fail('timestamp.previous', problems.join('; '));
      else { notBefore = r.notBefore; pass('timestamp.previous', 'block ' + ph.height + ', no earlier than ' + fmtUs(notBefore)); }
    } catch (err) {
      fail('timestamp.previous', err.message);
    }
  }

  // 14. timestamp.interval
  const received = BigInt(e.receipt.received_at_us);
  if (notAfter === null) fail('timestamp.interval', 'needs the block\'s time-stamps');
  else if (received > notAfter) fail('timestamp.interval', 'received ' + fmtUs(received) + ' after the time-stamp ' + fmtUs(notAfter));
  else if (notBefore !== null && received < notBefore - 60000000n) fail('timestamp.interval', 'received ' + fmtUs(received) + ' more than a minute before the previous block\'s time-stamp');
  else pass('timestamp.interval', fmtUs(received) + ' lies in [' + (notBefore === null ? '-' : fmtUs(notBefore)) + ', ' + fmtUs(notAfter) + ']');

  // 15. checkpoint.signature
  let cp = null;
  try {
    const note = e.checkpoint.note;
    const lines = note.split('\n');
    if (lines.length < 6 || lines[3] !== '') throw new Error('not a signed note');
    const text = lines.slice(0, 3).join('\n') + '\n';
    const origin = lines[0];
    const size = BigInt(lines[1]);
    const root = unb64(lines[2]);
    let verified = null, sawTrusted = false;
    for (const line of lines.slice(4)) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m || m[1] !== origin) continue;
      const sig = unb64(m[2]);
      if (sig.length !== 68) continue;
      for (const k of bundleKeys) {
        if (trustedFps && !trustedFps.has(k.fingerprint)) continue;
        const id = (await sha256(concat(enc.encode(origin + '\n'), Uint8Array.of(1), k.raw))).subarray(0, 4);
        if (!equal(id, sig.subarray(0, 4))) continue;
        sawTrusted = true;
        if (await ed25519Verify(k, sig.subarray(4), enc.encode(text))) verified = k;
      }
    }
    if (!verified) throw new Error(sawTrusted ? 'the signature by the notary key does not verify' : 'no signature by a trusted notary key');
    cp = { size, root };
    pass('checkpoint.signature', origin + ', size ' + size + ', key ' + verified.fingerprint);
  } catch (err) {
    fail('checkpoint.signature', err.message);
  }

  // 16. checkpoint.inclusion
  if (cp && hdr && leafH) {
    let problem = null;
    if (cp.size < hdr.treeSize) problem = 'the checkpoint is older than the block';
    else if (cp.size === hdr.treeSize && !equal(cp.root, hdr.treeRoot)) problem = 'same size as the block but another root';
    else {
      const r = await rootFromInclusion(e.leaf.index, cp.size, leafH, e.checkpoint.inclusion_proof.map(unhex)).catch(() => null);
      if (!r || !equal(r, cp.root)) problem = 'the proof does not lead to the checkpoint root ' + hex(cp.root);
    }
    if (problem) fail('checkpoint.inclusion', problem);
    else pass('checkpoint.inclusion', 'leaf ' + e.leaf.index + ' of ' + cp.size);
  } else fail('checkpoint.inclusion', 'needs a valid checkpoint, the block header and the leaf hash');

  skip('checkpoint.consistency', 'no newer checkpoint given (notary-verify --checkpoint)');
  skip('eml.compare', 'no other copy given (notary-verify --eml)');
  skip('attachment.match', 'no file given (notary-verify --attachment)');
  if (e.journal_report) skip('journal.report', 'the journal report matches its hash; notary-verify compares it with the sealed envelope');
  else skip('journal.report', 'the message did not arrive in an Exchange journal report');

  out.checks = CHECKS.map(([id, name]) => ({ id, name, ...(results.get(id) || { status: 'FAIL', reason: 'not run' }) }));
  out.valid = out.checks.every((c) => c.status !== 'FAIL');
  out.failed = out.checks.filter((c) => c.status === 'FAIL').map((c) => c.id);
  out.notAfterUs = notAfter;
  return out;
}
