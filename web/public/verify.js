// In-browser verification of an evidence bundle (docs/evidence-bundle.md §4), with the same
// check ids, names and order as notary-verify (evidence/src/verify.cc). Nothing leaves
// the browser: the zip is read with DecompressionStream, hashes and Ed25519 signatures use
// WebCrypto. Bundle format versions 1 and 2 (the C++ reader is the reference for version 2).
//
// What only notary-verify does (docs/verifying.md): the canonical form of version 1 (check 3;
// version 2 is recomputed here by canonical_v2.js), the CMS
// signature and certificate chain of time-stamp tokens (12, 13 check only their message
// imprints here), a newer checkpoint (17), comparing another copy (18) or a file (19), and
// reading a journal report (20: only its hashes are checked here).
//
// Check 21 re-renders certificate.html and VERIFY.md from evidence.json with the very
// templates notaryd compiles in (web/public/cert_template.html, verify_template.md,
// cert_labels.json, served at /assets/) and the template language of
// evidence/src/text_template.cc, and compares them byte for byte.

import { canonicalizeV2, partRecord } from './canonical_v2.js';

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
  ['texts.rendered', 'certificate.html and VERIFY.md follow from the evidence'],
  ['checkpoint.witnesses', 'Independent witnesses cosigned the checkpoint'],
  ['sender.record', 'Sender evidence bound by its authentication record'],
  ['sender.dkim', 'DKIM signatures and ARC chain re-verified with the archived keys'],
  ['sender.policy', 'SPF and DMARC re-evaluated from the archived records'],
  ['sender.dnssec', 'DNSSEC signatures of the archived answers re-validated'],
  ['erasure.record', 'Erasure record sealed in the log'],
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
// evidence.json's token_base64: canonical base64 (RFC 4648 §4 with padding, the unused bits
// of the last group zero), as notary-verify requires: one spelling per token.
const CANONICAL_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/;
function isEvidenceB64(s) {
  return typeof s === 'string' && CANONICAL_B64.test(s);
}
function evidenceB64(s) {
  if (!isEvidenceB64(s)) throw new Error('not canonical base64');
  return unb64(s);
}
function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
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
function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
function u64(n) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}
function lp(s) {
  const b = typeof s === 'string' ? enc.encode(s) : s;
  return concat(u32(b.length), b);
}

class Reader {
  constructor(b) {
    this.b = b;
    this.o = 0;
    this.v = new DataView(b.buffer, b.byteOffset, b.length);
  }
  need(n) {
    if (this.o + n > this.b.length) throw new Error('truncated');
  }
  bytes(n) {
    this.need(n);
    const r = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return r;
  }
  u16() {
    this.need(2);
    const r = this.v.getUint16(this.o);
    this.o += 2;
    return r;
  }
  u32() {
    this.need(4);
    const r = this.v.getUint32(this.o);
    this.o += 4;
    return r;
  }
  u64() {
    this.need(8);
    const r = this.v.getBigUint64(this.o);
    this.o += 8;
    return r;
  }
  i64() {
    this.need(8);
    const r = this.v.getBigInt64(this.o);
    this.o += 8;
    return r;
  }
  str(max) {
    const n = this.u32();
    if (n > max) throw new Error('string too long');
    return this.bytes(n);
  }
  done() {
    return this.o === this.b.length;
  }
}

// ---------- evidence.json, read strictly (docs/evidence-bundle.md §3) ----------
// JSON.parse keeps the last of two equal keys while a person reads the first, and passes
// over fields nobody checks: both make a bundle malformed here, as in notary-verify.
const MAX_JSON_DEPTH = 8;
export function parseStrictJson(text) {
  let i = 0;
  const fail = (what) => {
    throw new Error('evidence.json: ' + what + ' at offset ' + i);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const str = () => {
    let out = '';
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i++];
      if (c === '"') {
        // Unpaired surrogates are not Unicode text: notary-verify refuses them too.
        if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(out))
          fail('unpaired surrogate');
        return out;
      }
      if (c < ' ') fail('control character in a string');
      if (c !== '\\') {
        out += c;
        continue;
      }
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
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0].length === 400) fail('bad number');
    i += m[0].length;
    // Integers only where the format has them. As nlohmann::json (notary-verify) reads them:
    // -2^63 .. 2^64-1 are integers (BigInt beyond a double's exact range), "-0" is a signed
    // zero (an int64, not a uint64), anything else is a float, which no field accepts.
    if (m[2] || m[3]) return { float: m[0] };
    if (m[0] === '-0') return -0;
    const n = Number(m[0]);
    if (Number.isSafeInteger(n)) return n;
    const b = BigInt(m[0]);
    return b >= -(2n ** 63n) && b < 2n ** 64n ? b : { float: m[0] };
  };
  // An explicit stack: no recursion on hostile nesting.
  const stack = [];
  let result;
  const put = (v) => {
    if (!stack.length) {
      result = v;
      return;
    }
    const top = stack[stack.length - 1];
    if (Array.isArray(top.value)) top.value.push(v);
    else top.value[top.key] = v;
  };
  for (;;) {
    ws();
    const top = stack[stack.length - 1];
    if (top && !Array.isArray(top.value) && top.expectKey) {
      if (text[i] === '}' && top.empty) {
        i++;
        stack.pop();
        put(top.value);
      } else {
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        if (Object.prototype.hasOwnProperty.call(top.value, k)) fail('the key "' + k + '" appears twice in one object');
        ws();
        if (text[i++] !== ':') fail('expected ":"');
        top.key = k;
        top.expectKey = false;
        top.empty = false;
        continue;
      }
    } else if (top && Array.isArray(top.value) && top.empty && text[i] === ']') {
      i++;
      stack.pop();
      put(top.value);
    } else {
      const c = text[i];
      if (c === '{' || c === '[') {
        if (stack.length >= MAX_JSON_DEPTH) fail('nested deeper than the format allows');
        i++;
        stack.push(
          c === '{' ? { value: Object.create(null), expectKey: true, empty: true } : { value: [], empty: true },
        );
        continue;
      }
      if (c === '"') put(str());
      else if (c === '-' || (c >= '0' && c <= '9')) put(number());
      else if (text.startsWith('true', i)) {
        i += 4;
        put(true);
      } else if (text.startsWith('false', i)) {
        i += 5;
        put(false);
      } else if (text.startsWith('null', i)) {
        i += 4;
        put(null);
      } else fail('unexpected character');
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
        if (Array.isArray(t.value)) t.empty = false;
        else t.expectKey = true;
        if (!Array.isArray(t.value)) {
          ws();
          if (text[i] !== '"') fail('expected a key');
        }
        break;
      }
      const close = Array.isArray(t.value) ? ']' : '}';
      if (text[i] !== close) fail('expected "," or "' + close + '"');
      i++;
      stack.pop();
      put(t.value);
    }
  }
}

// The schema of evidence.json: every object's fields, exactly (readers reject unknown ones),
// per format version, as ParseEvidenceJson (evidence/src/format.cc) reads them.
const INT64_MIN = -(2n ** 63n),
  INT64_MAX = 2n ** 63n - 1n;
const S = {
  str: (v) => typeof v === 'string',
  u64: (v) => (typeof v === 'number' && v >= 0 && !Object.is(v, -0)) || (typeof v === 'bigint' && v >= 0n),
  i64: (v) => typeof v === 'number' || (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX),
  bool: (v) => typeof v === 'boolean',
  hash: (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v),
  hex: (v) => typeof v === 'string' && v.length % 2 === 0 && /^[0-9a-f]*$/.test(v),
  b64: isEvidenceB64,
  obj: (v) => isObject(v),
};
const arrayOf = (item, max) => ({ array: item, max });
const nullable = (t) => ({ nullable: t });
const TOKEN = { tsa: 'str', file: 'str', token_base64: 'b64' };
const BLOCK = {
  height: 'u64',
  header_hex: 'hex',
  header_file: 'str',
  signature_hex: 'hex',
  signature_file: 'str',
  hash: 'hash',
  timestamps: arrayOf(TOKEN, 16),
};
const PART_V1 = {
  position: 'str',
  redacted: 'bool',
  content_type: 'str',
  charset: 'str',
  disposition: 'str',
  filename: 'str',
  size: 'u64',
  sha256: 'hash',
  record_leaf_hash: 'hash',
};
const PART_V2 = { ...PART_V1, salt: nullable('hash') };
const REDACTED_PART = { position: 'str', redacted: 'bool', record_leaf_hash: 'hash' };
const ENVELOPE = {
  mail_from: 'str',
  recipients: arrayOf('str', Infinity),
  client_ip: 'str',
  client_port: 'u64',
  helo: 'str',
  tls_protocol: 'str',
  tls_cipher: 'str',
};
const DISCLOSED = nullable({ position: 'str', file: 'str' });
function evidenceSchema(version) {
  const v2 = version === 2;
  return {
    format: 'str',
    format_version: 'u64',
    issued_to: 'str',
    issued_at_us: 'i64',
    lang: 'str',
    receipt: v2
      ? {
          id: 'str',
          tenant: 'str',
          received_at_us: 'i64',
          // null only in the bundle of an erased message (§6a)
          envelope: nullable(ENVELOPE),
          provenance: {
            source: 'str',
            listener: 'str',
            node: 'str',
            client_name: 'str',
            auth_user: 'str',
            queue_id: 'str',
            asserted_by: 'str',
            journal_report_sha256: nullable('hash'),
          },
          provenance_bound: 'bool',
        }
      : {
          id: 'str',
          tenant: 'str',
          received_at_us: 'i64',
          envelope: ENVELOPE,
          client_name: 'str',
          auth_user: 'str',
          queue_id: 'str',
          node: 'str',
          source: 'str',
        },
    message: v2
      ? {
          file: nullable('str'),
          raw_sha256: 'hash',
          canonical_sha256: 'hash',
          canon_version: 'u64',
          canonical_file: nullable('str'),
          disclosed_part: DISCLOSED,
        }
      : {
          file: nullable('str'),
          raw_sha256: 'hash',
          canonical_sha256: 'hash',
          canon_version: 'u64',
          disclosed_part: DISCLOSED,
        },
    parts: arrayOf({ part: v2 ? PART_V2 : PART_V1 }, 10000),
    parts_root: 'hash',
    journal_report: { optional: nullable({ file: 'str', sha256: 'hash', size: 'u64' }) },
    leaf: { record_hex: 'hex', file: 'str', index: 'u64', hash: 'hash' },
    batch_proof: { index: 'u64', size: 'u64', hashes: arrayOf('hash', 128) },
    block: BLOCK,
    previous_block: nullable(BLOCK),
    checkpoint: { note: 'str', file: 'str', tree_size: 'u64', inclusion_proof: arrayOf('hash', 128) },
    keys: arrayOf(
      {
        key_id: 'str',
        algorithm: 'str',
        public_key_pem: 'str',
        fingerprint: 'str',
        valid_from_us: 'i64',
        valid_until_us: nullable('i64'),
        file: 'str',
      },
      16,
    ),
    tsa: { ca_pem: 'str', ca_file: 'str', chain_pem: 'str', chain_file: nullable('str') },
    authentication: {
      optional: {
        record_hex: 'hex',
        record_file: 'str',
        leaf_index: 'u64',
        leaf_hash: 'hash',
        inclusion_proof: arrayOf('hash', 128),
        results_file: 'str',
        results_sha256: 'hash',
        dns_archive_file: 'str',
        dns_archive_sha256: 'hash',
        summary: 'obj',
      },
    },
    ...(v2
      ? {
          // the certificate template's version (§7); absent: 1
          texts_version: { optional: 'u64' },
          erasure: {
            optional: {
              record_hex: 'hex',
              record_file: 'str',
              details: 'str',
              details_file: 'str',
              leaf_index: 'u64',
              leaf_hash: 'hash',
              inclusion_proof: arrayOf('hash', 128),
            },
          },
        }
      : {}),
  };
}
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
function checkShape(v, t, path) {
  const bad = (what) => {
    throw new Error('evidence.json: ' + path + ': ' + what);
  };
  if (typeof t === 'string') {
    if (!S[t](v)) bad('not ' + t);
    return;
  }
  if (t.part !== undefined) {
    if (!isObject(v)) bad('not an object');
    return checkShape(v, v.redacted === true ? REDACTED_PART : t.part, path);
  }
  if (t.optional !== undefined) return v === undefined ? undefined : checkShape(v, t.optional, path);
  if (t.nullable !== undefined) return v === null ? undefined : checkShape(v, t.nullable, path);
  if (t.array !== undefined) {
    if (!Array.isArray(v) || v.length > t.max) bad('not an array of at most ' + t.max);
    v.forEach((x, k) => checkShape(x, t.array, path + '[' + k + ']'));
    return;
  }
  if (!isObject(v)) bad('not an object');
  for (const k of Object.keys(v)) if (!Object.hasOwn(t, k)) bad('unknown field ' + k);
  for (const [k, sub] of Object.entries(t)) {
    if (!Object.hasOwn(v, k) && sub.optional === undefined) bad('missing ' + k);
    checkShape(v[k], sub, path ? path + '.' + k : k);
  }
}
const FORMAT_NAME = 'email-notary-evidence-bundle';
const CANONICAL_FILE = 'canonical-form.txt';
const JOURNAL_FILE = 'journal-report.eml';
const ERASURE_RECORD_FILE = 'erasure-record.bin';
const ERASURE_DETAILS_FILE = 'erasure-details.json';
export function isValidPosition(p) {
  return typeof p === 'string' && p.length <= 64 && /^[0-9]+(\.[0-9]+)*$/.test(p);
}
const partFile = (position) => 'part-' + position + '.bin';
const headerFile = (height) => 'block/' + height + '.header';
const sigFile = (height) => 'block/' + height + '.sig';
const tokenFile = (height, i) => 'tokens/' + height + '-' + i + '.tsr';
const keyFile = (keyId) => 'keys/' + keyId + '.pem';
const AUTH_FILES = {
  record_file: 'authentication/record.bin',
  results_file: 'authentication/results.bin',
  dns_archive_file: 'authentication/dns-archive.bin',
};
// What ParseEvidenceJson refuses beyond the shape: file names other than the prescribed
// ones, positions and key ids, a header that does not decode, and the like.
function checkValues(e) {
  const bad = (path, what) => {
    throw new Error('evidence.json: ' + path + ': ' + what);
  };
  if (e.format !== FORMAT_NAME) bad('format', 'not an evidence bundle');
  if (e.format_version !== 1 && e.format_version !== 2)
    bad('format_version', 'unsupported version ' + e.format_version);
  const v2 = e.format_version === 2;
  if (e.texts_version !== undefined && e.texts_version !== 2)
    bad('texts_version', 'must be 2, in a version 2 bundle (absent means 1)');
  // An erased message's bundle (§6a): no envelope, no message, no parts, no report.
  const erased = v2 && e.erasure !== undefined;
  if (erased !== (e.receipt.envelope === null)) {
    bad(
      'receipt.envelope',
      erased ? 'must be null for an erased message' : 'must be an object (null only for an erased message)',
    );
  }
  if (!erased && BigInt(e.receipt.envelope.client_port) > 65535n) bad('receipt.envelope.client_port', 'out of range');
  if (v2 && e.receipt.provenance.journal_report_sha256 === '0'.repeat(64)) {
    bad('receipt.provenance.journal_report_sha256', 'zero bytes are written as null');
  }
  if (BigInt(e.message.canon_version) > 0xffffffffn) bad('message.canon_version', 'out of range');
  const dp = e.message.disclosed_part;
  if (
    v2 &&
    (dp === null && !erased ? e.message.canonical_file !== CANONICAL_FILE : e.message.canonical_file !== null)
  ) {
    bad(
      'message.canonical_file',
      'must be "canonical-form.txt", or null when a part is disclosed or the message was erased',
    );
  }
  if (erased) {
    if (e.message.file !== null) bad('message.file', 'must be null: the message was erased');
    if (dp !== null) bad('message.disclosed_part', 'must be null: the message was erased');
  } else if (dp === null) {
    if (e.message.file !== 'message.eml') bad('message.file', 'must be "message.eml"');
  } else {
    if (e.message.file !== null) bad('message.file', 'must be null when a part is disclosed');
    if (!isValidPosition(dp.position)) bad('message.disclosed_part.position', 'invalid');
    if (dp.file !== partFile(dp.position))
      bad('message.disclosed_part.file', 'must be "' + partFile(dp.position) + '"');
  }
  const positions = new Set();
  e.parts.forEach((p, i) => {
    if (!isValidPosition(p.position) || positions.has(p.position))
      bad('parts[' + i + '].position', 'invalid or repeated');
    positions.add(p.position);
  });
  if (dp && !positions.has(dp.position)) bad('message.disclosed_part.position', 'not among the parts');
  if (erased && e.parts.length) bad('parts', 'must be empty: the message was erased');
  const jr = e.journal_report ?? null;
  if (jr !== null) {
    if (dp) bad('journal_report', 'must be null when a part is disclosed');
    if (erased) bad('journal_report', 'must be null: the message was erased');
    if (jr.file !== JOURNAL_FILE) bad('journal_report.file', 'must be "' + JOURNAL_FILE + '"');
    if (BigInt(jr.size) === 0n) bad('journal_report.size', 'must not be 0');
  }
  if (e.authentication) {
    for (const [f, want] of Object.entries(AUTH_FILES)) {
      if (e.authentication[f] !== want) bad('authentication.' + f, 'must be "' + want + '"');
    }
    if (BigInt(e.authentication.leaf_index) > INT64_MAX) bad('authentication.leaf_index', 'out of range');
    if (erased) bad('authentication', 'must be absent: the message was erased');
  }
  if (erased) {
    if (e.erasure.record_file !== ERASURE_RECORD_FILE)
      bad('erasure.record_file', 'must be "' + ERASURE_RECORD_FILE + '"');
    if (e.erasure.details_file !== ERASURE_DETAILS_FILE)
      bad('erasure.details_file', 'must be "' + ERASURE_DETAILS_FILE + '"');
    if (BigInt(e.erasure.leaf_index) > INT64_MAX) bad('erasure.leaf_index', 'out of range');
    if (enc.encode(e.erasure.details).length > 8192) bad('erasure.details', 'longer than 8192 bytes');
  }
  if (e.leaf.file !== 'leaf-record.bin') bad('leaf.file', 'must be "leaf-record.bin"');
  for (const [path, b] of [
    ['block', e.block],
    ['previous_block', e.previous_block],
  ]) {
    if (b === null) continue;
    let h;
    try {
      h = decodeHeader(unhex(b.header_hex));
    } catch (err) {
      bad(path + '.header_hex', err.message);
    }
    if (h.height !== BigInt(b.height)) bad(path + '.height', 'differs from the height in header_hex');
    if (b.header_file !== headerFile(b.height)) bad(path + '.header_file', 'must be "' + headerFile(b.height) + '"');
    if (b.signature_file !== sigFile(b.height)) bad(path + '.signature_file', 'must be "' + sigFile(b.height) + '"');
    b.timestamps.forEach((t, i) => {
      if (t.file !== tokenFile(b.height, i))
        bad(path + '.timestamps[' + i + '].file', 'must be "' + tokenFile(b.height, i) + '"');
    });
  }
  if (e.checkpoint.file !== 'checkpoint.txt') bad('checkpoint.file', 'must be "checkpoint.txt"');
  const ids = new Set();
  e.keys.forEach((k, i) => {
    if (!/^[0-9a-f]{1,64}$/.test(k.key_id) || ids.has(k.key_id)) bad('keys[' + i + '].key_id', 'invalid or repeated');
    ids.add(k.key_id);
    if (k.algorithm !== 'ed25519') bad('keys[' + i + '].algorithm', 'must be ed25519');
    if (k.file !== keyFile(k.key_id)) bad('keys[' + i + '].file', 'must be "' + keyFile(k.key_id) + '"');
  });
  if (e.tsa.ca_file !== 'tsa-ca.pem') bad('tsa.ca_file', 'must be "tsa-ca.pem"');
  if (e.tsa.chain_pem === '' ? e.tsa.chain_file !== null : e.tsa.chain_file !== 'tsa-chain.pem') {
    bad('tsa.chain_file', 'must be "tsa-chain.pem", or null when chain_pem is empty');
  }
}
// evidence.json bytes -> the document, or an Error naming what is malformed.
export function readEvidence(bytes) {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const e = parseStrictJson(text);
  if (!isObject(e)) throw new Error('evidence.json: not an object');
  checkShape(e, evidenceSchema(e.format_version), '');
  checkValues(e);
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
    if (n > budget) {
      await reader.cancel();
      throw new Error('the bundle inflates past 200 MiB');
    }
    chunks.push(value);
  }
  return { bytes: concat(...chunks), size: n };
}

export async function readZip(bytes) {
  if (bytes.length > MAX_TOTAL) throw new Error('the zip is larger than 200 MiB');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (v.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
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
    if (['block/', 'tokens/', 'keys/', 'authentication/'].includes(name)) continue;
    if (!/^((block|tokens|keys|authentication)\/)?[A-Za-z0-9._-]+$/.test(name) || name.includes('..')) {
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
  for (let o = 0; o < b.length;) {
    const t = der(b, o);
    out.push(t);
    o = t.end;
  }
  return out;
}
const SHA256_OID = unhex('608648016503040201');
const SHA384_OID = unhex('608648016503040202');
const SHA512_OID = unhex('608648016503040203');
const TSTINFO_OID = unhex('2a864886f70d0109100104');

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.trunc((y >= 0 ? y : y - 399) / 400);
  const yoe = y - era * 400;
  const doy = Math.trunc((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.trunc(yoe / 4) - Math.trunc(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
function civilFromDays(z) {
  z += 719468;
  const era = Math.trunc((z >= 0 ? z : z - 146096) / 146097);
  const doe = z - era * 146097;
  const yoe = Math.trunc((doe - Math.trunc(doe / 1460) + Math.trunc(doe / 36524) - Math.trunc(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.trunc(yoe / 4) - Math.trunc(yoe / 100));
  const mp = Math.trunc((5 * doy + 2) / 153);
  const d = doy - Math.trunc((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}
const daysInMonth = (y, m) =>
  m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;

// A token's genTime as notary-verify reads it (GeneralizedTimeMicros, tsa/src/token.cc):
// YYYYMMDDHHMMSS, then optionally "." and any number of digits (truncated to microseconds),
// then "Z"; a real calendar day, second 0..60. Microseconds since 1970 (BigInt).
export function parseGeneralizedTime(b) {
  const s = typeof b === 'string' ? b : String.fromCharCode(...b);
  if (s.length < 15 || s[s.length - 1] !== 'Z') throw new Error('bad genTime');
  const num = (pos, len) => {
    let v = 0;
    for (let i = pos; i < pos + len; i++) {
      if (!(s[i] >= '0' && s[i] <= '9')) return -1;
      v = v * 10 + (s.charCodeAt(i) - 48);
    }
    return v;
  };
  const year = num(0, 4),
    month = num(4, 2),
    day = num(6, 2);
  const hour = num(8, 2),
    minute = num(10, 2),
    second = num(12, 2);
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 60
  ) {
    throw new Error('bad genTime');
  }
  let micros = 0;
  const rest = s.slice(14, s.length - 1);
  if (rest.length) {
    if (rest[0] !== '.' || rest.length < 2) throw new Error('bad genTime');
    let scale = 100000;
    for (let i = 1; i < rest.length; i++) {
      if (!(rest[i] >= '0' && rest[i] <= '9')) throw new Error('bad genTime');
      if (scale > 0) micros += (rest.charCodeAt(i) - 48) * scale;
      scale = Math.trunc(scale / 10);
    }
  }
  if (day > daysInMonth(year, month)) throw new Error('bad genTime');
  const days = BigInt(daysFromCivil(year, month, day));
  return ((days * 24n + BigInt(hour)) * 60n + BigInt(minute)) * 60000000n + BigInt(second) * 1000000n + BigInt(micros);
}
// A DER INTEGER, signed (two's complement).
function intValue(b) {
  let n = 0n;
  for (const x of b) n = n * 256n + BigInt(x);
  if (b.length && b[0] & 0x80) n -= 1n << BigInt(8 * b.length);
  return n;
}

// Returns {alg, imprint, genTimeUs, accuracyUs} of a DER TimeStampToken, or throws where
// notary-verify's ParseToken fails too (as far as this walker can tell: it reads the fields
// it needs, not the whole CMS structure). alg: 'SHA-256', 'SHA-384' or 'SHA-512'.
export function parseTokenInfo(tok) {
  const outer = der(tok);
  if (outer.end !== tok.length) throw new Error('trailing bytes after the token');
  const ci = children(outer.body);
  const sd = children(der(ci[1].body).body); // [0] EXPLICIT SignedData
  const encap = children(sd[2].body);
  if (!equal(encap[0].body, TSTINFO_OID)) throw new Error('not a TSTInfo');
  const octets = der(encap[1].body); // [0] EXPLICIT OCTET STRING
  const tst = children(der(octets.body).body);
  const mi = children(tst[2].body);
  const algOid = children(mi[0].body)[0].body;
  const alg = equal(algOid, SHA256_OID)
    ? 'SHA-256'
    : equal(algOid, SHA384_OID)
      ? 'SHA-384'
      : equal(algOid, SHA512_OID)
        ? 'SHA-512'
        : null;
  if (!alg) throw new Error('token imprint uses an unsupported hash algorithm');
  if (tst[4].tag !== 0x18) throw new Error('genTime is not a GeneralizedTime');
  const genTimeUs = parseGeneralizedTime(tst[4].body);
  let accuracyUs = 0n;
  if (tst.length > 5 && tst[5].tag === 0x30) {
    // RFC 3161 §2.4.2, bounded as notary-verify bounds them: seconds 0..2^31-1, millis and
    // micros 0..999; out of range, the token does not parse.
    const max = { 0x02: 2147483647n, 0x80: 999n, 0x81: 999n };
    const unit = { 0x02: 1000000n, 0x80: 1000n, 0x81: 1n };
    for (const a of children(tst[5].body)) {
      if (!(a.tag in max)) continue;
      const v = intValue(a.body);
      if (v < 0n || v > max[a.tag]) throw new Error('token accuracy out of range');
      accuracyUs += v * unit[a.tag];
    }
  }
  return { alg, imprint: mi[1].body, genTimeUs, accuracyUs };
}
// The same, for a token that must be over a SHA-256 imprint (a block hash).
export function parseToken(tok) {
  const info = parseTokenInfo(tok);
  if (info.alg !== 'SHA-256') throw new Error('message imprint is ' + info.alg + ', not SHA-256');
  return info;
}

// ---------- Merkle (RFC 9162 §2.1) ----------
async function nodeHash(l, r) {
  return sha256(concat(Uint8Array.of(1), l, r));
}
async function leafHash(b) {
  return sha256(concat(Uint8Array.of(0), b));
}
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
  let fn = BigInt(index),
    sn = BigInt(size) - 1n,
    r = leaf;
  for (const p of path) {
    if (sn === 0n) return null;
    if (fn % 2n === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2n === 0n) {
        while (fn % 2n === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
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
  try {
    return await crypto.subtle.verify({ name: 'Ed25519' }, k.key, sig, msg);
  } catch {
    return false;
  }
}

// ---------- records ----------
// Strings in records are bytes; they are compared as bytes (the UTF-8 of evidence.json's
// strings), never through a decoder that could change them (a BOM, a replacement).
const utf8Lenient = new TextDecoder('utf-8', { ignoreBOM: true });
function decodeHeader(b) {
  const r = new Reader(b);
  const version = r.u32();
  if (version !== 1) throw new Error('unknown block version ' + version);
  const h = {
    version,
    height: r.u64(),
    prev: r.bytes(32),
    batchRoot: r.bytes(32),
    first: r.u64(),
    count: r.u64(),
    treeSize: r.u64(),
    treeRoot: r.bytes(32),
    sealedAt: r.i64(),
    keyIdBytes: r.str(64),
  };
  if (!h.keyIdBytes.length) throw new Error('truncated or malformed block header');
  if (!r.done()) throw new Error('trailing bytes after the block header');
  h.keyId = utf8Lenient.decode(h.keyIdBytes); // for look-ups among hex key ids only
  return h;
}
// Leaf record versions 1 and 2 (log/src/leaf_record.cc).
const PROVENANCE_FIELDS = ['source', 'listener', 'node', 'client_name', 'auth_user', 'queue_id', 'asserted_by'];
function decodeLeaf(b) {
  const r = new Reader(b);
  if (!equal(r.bytes(18), enc.encode('email-notary/leaf\n'))) throw new Error('not a leaf record');
  const version = r.u32();
  if (version !== 1 && version !== 2) throw new Error('unknown leaf record version ' + version);
  const l = {
    version,
    receiptId: r.str(64),
    receivedAt: r.i64(),
    raw: r.bytes(32),
    canonical: r.bytes(32),
    canonVersion: r.u32(),
    partsRoot: r.bytes(32),
    envelope: r.bytes(32),
    tenant: r.str(64),
    provenance: null,
  };
  if (!l.receiptId.length) throw new Error('empty receipt id');
  if (version === 2) {
    l.provenance = {};
    for (const f of PROVENANCE_FIELDS) l.provenance[f] = r.str(f === 'asserted_by' ? 64 : 255);
    l.provenance.journal_report_sha256 = r.bytes(32);
  }
  l.salt = r.bytes(32);
  if (!r.done()) throw new Error('trailing bytes after the leaf record');
  return l;
}
// The authentication record (log/src/authentication_record.cc, docs/evidence-format.md).
function decodeAuthRecord(b) {
  const r = new Reader(b);
  const tag = enc.encode('email-notary/authentication\n');
  if (!equal(r.bytes(tag.length), tag)) throw new Error('not an authentication record');
  const version = r.u32();
  if (version !== 1) throw new Error('unknown authentication record version ' + version);
  const a = {
    receiptId: r.str(64),
    receiptLeaf: r.bytes(32),
    checkedAt: r.i64(),
    results: r.bytes(32),
    archive: r.bytes(32),
    salt: r.bytes(32),
  };
  if (!a.receiptId.length) throw new Error('empty receipt id in the authentication record');
  if (!r.done()) throw new Error('trailing bytes after the authentication record');
  return a;
}
// The action record (docs/evidence-format.md, "Action record"): who did what to the store.
function decodeActionRecord(b) {
  const r = new Reader(b);
  const tag = enc.encode('email-notary/action\n');
  if (!equal(r.bytes(tag.length), tag)) throw new Error('not an action record');
  const version = r.u32();
  if (version !== 1) throw new Error('unknown action record version ' + version);
  const a = {
    action: r.str(32),
    tenant: r.str(64),
    subject: r.str(64),
    actedAt: r.i64(),
    actor: r.str(64),
    details: r.bytes(32),
    salt: r.bytes(32),
  };
  if (!r.done()) throw new Error('trailing bytes after the action record');
  if (!/^[a-z-]{1,32}$/.test(new TextDecoder().decode(a.action))) throw new Error('invalid action name');
  if (!a.subject.length) throw new Error('empty subject in the action record');
  return a;
}
// ---- sender evidence: the readable summary rendered from the bound files, as
// sender/src/authentication_json.cc does (docs/sender-evidence.md §6) ----
const asciiLower = (b) => Uint8Array.from(b, (c) => (c >= 0x41 && c <= 0x5a ? c + 32 : c));
const txt = (b) => utf8Lenient.decode(b);
const ARC_SET_FIELDS = [
  'seal_domain',
  'seal_selector',
  'signature_domain',
  'signature_selector',
  'authserv_id',
  'auth_results',
  'cv',
  'seal_result',
  'signature_result',
];
function decodeAuthResults(b) {
  const r = new Reader(b);
  // Version 2 adds the ARC section; version 1 (no ARC header) is unchanged.
  const tag = r.bytes(enc.encode('email-notary/auth-results/v1\n').length);
  const v2 = equal(tag, enc.encode('email-notary/auth-results/v2\n'));
  if (!v2 && !equal(tag, enc.encode('email-notary/auth-results/v1\n')))
    throw new Error('not encoded authentication results');
  const count = r.u32();
  if (count > 16) throw new Error('more than 16 DKIM results');
  const s = () => r.str(1024);
  const flag = () => {
    const v = r.bytes(1)[0];
    if (v > 1) throw new Error('bad flag in the authentication results');
    return v === 1;
  };
  const out = { dkim: [], spf: null, dmarc: null };
  for (let i = 0; i < count; i++) {
    const d = { domain: s(), selector: s(), algorithm: s(), hc: s(), bc: s() };
    d.bodyLength = r.i64();
    d.signedHeaders = s();
    d.keyBits = r.u32();
    d.result = s();
    d.reason = s();
    out.dkim.push(d);
  }
  if (flag()) out.spf = { identity: s(), domain: s(), client_ip: s(), result: s(), reason: s() };
  if (flag()) {
    out.dmarc = { domain: s(), org_domain: s(), policy: s(), result: s() };
    out.dmarc.dkim_aligned = flag();
    out.dmarc.spf_aligned = flag();
  }
  if (v2) {
    out.arc = { result: s(), reason: s(), sets: [] };
    const sets = r.u32();
    if (sets > 50) throw new Error('more than 50 ARC sets');
    for (let i = 0; i < sets; i++) {
      const a = { instance: r.u32() };
      for (const k of ARC_SET_FIELDS) a[k] = s();
      out.arc.sets.push(a);
    }
    if (txt(out.arc.result) === 'pass' && !sets) throw new Error('an ARC pass without ARC sets');
  }
  if (!r.done()) throw new Error('trailing bytes after the authentication results');
  return out;
}
const OUTCOMES = ['answer', 'nxdomain', 'nodata', 'temperror'];
const DNSSEC_STATES = ['secure', 'insecure', 'bogus', 'indeterminate'];
function decodeDnsArchive(b) {
  const r = new Reader(b);
  const tag = enc.encode('email-notary/dns-archive/v1\n');
  if (!equal(r.bytes(tag.length), tag)) throw new Error('not a DNS archive');
  const count = r.u32();
  if (count > 512) throw new Error('more than 512 archived answers');
  const out = [];
  for (let i = 0; i < count; i++) {
    const a = { qname: r.str(255), qtype: r.u16(), lookedUpAt: r.i64() };
    if (!a.qname.length) throw new Error('an archived answer without a name');
    a.outcome = txt(r.str(16));
    a.dnssec = txt(r.str(16));
    a.why = r.str(1024);
    a.wire = r.str(65535);
    if (!OUTCOMES.includes(a.outcome) || !DNSSEC_STATES.includes(a.dnssec))
      throw new Error('unknown outcome or DNSSEC status in the DNS archive');
    out.push(a);
  }
  if (!r.done()) throw new Error('trailing bytes after the DNS archive');
  return out;
}
// A domain name at `o` in a DNS message (RFC 1035 §4.1.4 compression), lower case, dotted.
function dnsName(w, o) {
  const labels = [];
  let end = -1;
  for (let jumps = 0; ;) {
    if (o >= w.length) throw new Error('truncated name');
    const len = w[o];
    if (len === 0) {
      if (end < 0) end = o + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (o + 1 >= w.length || ++jumps > 64) throw new Error('bad compression pointer');
      if (end < 0) end = o + 2;
      o = ((len & 0x3f) << 8) | w[o + 1];
      continue;
    }
    if (len > 63 || o + 1 + len > w.length) throw new Error('bad label');
    labels.push(txt(asciiLower(w.subarray(o + 1, o + 1 + len))));
    o += 1 + len;
  }
  return [labels.join('.'), end];
}
// The TXT records the reply gives for its question's name, each record's strings joined
// (sender/src/dns_answer.cc TxtRecords); [] when it is not an answer or does not parse.
function txtRecords(a) {
  if (a.outcome !== 'answer') return [];
  try {
    const w = a.wire;
    if (w.length < 12) throw new Error('short reply');
    const v = new DataView(w.buffer, w.byteOffset, w.length);
    const qd = v.getUint16(4),
      an = v.getUint16(6),
      rest = v.getUint16(8) + v.getUint16(10);
    const want = txt(asciiLower(a.qname)).replace(/\.$/, '');
    if (qd !== 1) throw new Error('not one question');
    let [name, o] = dnsName(w, 12);
    if (o + 4 > w.length || v.getUint16(o) !== 16 || name !== want) throw new Error('another question');
    o += 4;
    const records = [];
    for (let i = 0; i < an + rest; i++) {
      let owner;
      [owner, o] = dnsName(w, o);
      if (o + 10 > w.length) throw new Error('truncated record');
      const type = v.getUint16(o),
        rdlen = v.getUint16(o + 8);
      o += 10;
      if (o + rdlen > w.length) throw new Error('truncated rdata');
      const rd = w.subarray(o, o + rdlen);
      o += rdlen;
      if (i >= an || type !== 16 || owner !== want) continue;
      const parts = [];
      for (let p = 0; p < rd.length;) {
        const n = rd[p];
        if (p + 1 + n > rd.length) throw new Error('malformed TXT string');
        parts.push(rd.subarray(p + 1, p + 1 + n));
        p += 1 + n;
      }
      records.push(txt(concat(...parts)));
    }
    return records;
  } catch {
    return [];
  }
}
const DNS_TYPES = { 1: 'A', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 43: 'DS', 48: 'DNSKEY' };
const minute = (us) => formatUtcMicros(us).slice(0, 16) + 'Z';
function describeDkim(d, key) {
  const name = txt(concat(d.selector, enc.encode('._domainkey.'), d.domain));
  const domain = txt(d.domain);
  const dnssec = key
    ? { secure: ', DNSSEC-validated', insecure: ', not DNSSEC-signed', bogus: ', DNSSEC validation failed' }[
        key.dnssec
      ] || ''
    : '';
  const when = key ? ' as published at ' + minute(key.lookedUpAt) : '';
  const result = txt(d.result);
  if (result === 'pass') {
    const scope = d.bodyLength >= 0n ? '; only the first ' + d.bodyLength + ' bytes of the body are signed' : '';
    return 'signed by d=' + domain + ' (key ' + name + when + dnssec + ')' + scope;
  }
  if (result === 'fail')
    return 'signature by d=' + domain + ' does not verify: ' + txt(d.reason) + ' (key ' + name + when + dnssec + ')';
  if (result === 'temperror')
    return (
      'signature by d=' +
      domain +
      ' not checked: the key ' +
      name +
      ' could not be looked up' +
      (key && key.why.length ? ' (' + txt(key.why) + ')' : '')
    );
  return 'signature by d=' + domain + ' unusable (' + result + ': ' + txt(d.reason) + ')';
}
function describeArc(arc) {
  const n = arc.sets.length;
  const result = txt(arc.result);
  if (result === 'pass' && n > 0) {
    const first = arc.sets[0];
    const said = first.auth_results.length ? ', which recorded: ' + txt(first.auth_results) : '';
    return (
      'ARC chain intact: ' +
      n +
      (n === 1 ? ' hop' : ' hops') +
      ', the first sealed by d=' +
      txt(first.seal_domain) +
      said
    );
  }
  if (result === 'temperror') return 'ARC chain not checked: ' + txt(arc.reason);
  return 'ARC chain broken: ' + txt(arc.reason);
}
function authenticationSummary(record, results, answers, leafIndex) {
  const strs = (o) => Object.fromEntries(Object.entries(o).map(([k, x]) => [k, x instanceof Uint8Array ? txt(x) : x]));
  const dkim = results.dkim.map((d) => {
    const keyName = asciiLower(concat(d.selector, enc.encode('._domainkey.'), d.domain));
    const key = answers.find((a) => a.qtype === 16 && equal(asciiLower(a.qname), keyName)) || null;
    return {
      domain: txt(d.domain),
      selector: txt(d.selector),
      algorithm: txt(d.algorithm),
      canonicalization: txt(d.hc) + '/' + txt(d.bc),
      body_length: d.bodyLength >= 0n ? d.bodyLength : null,
      signed_headers: txt(d.signedHeaders),
      key_bits: d.keyBits,
      result: txt(d.result),
      reason: txt(d.reason),
      key_record: txt(concat(d.selector, enc.encode('._domainkey.'), d.domain)),
      key_dnssec: key ? key.dnssec : null,
      summary: describeDkim(d, key),
    };
  });
  const dns = answers.map((a) => ({
    name: txt(a.qname),
    type: DNS_TYPES[a.qtype] || 'TYPE' + a.qtype,
    looked_up_at: formatUtcMicros(a.lookedUpAt),
    outcome: a.outcome,
    dnssec: a.dnssec,
    why: txt(a.why),
    records: a.qtype === 16 ? txtRecords(a) : [],
    wire_size: a.wire.length,
  }));
  const out = {
    checked_at: formatUtcMicros(record.checkedAt),
    status: 'sealed',
    leaf_index: leafIndex,
    dkim,
    spf: results.spf ? strs(results.spf) : null,
    dmarc: results.dmarc ? strs(results.dmarc) : null,
    dns,
  };
  // Only with ARC sets, as authentication_json.cc writes it.
  if (results.arc) {
    out.arc = {
      result: txt(results.arc.result),
      reason: txt(results.arc.reason),
      sets: results.arc.sets.map(strs),
      summary: describeArc(results.arc),
    };
  }
  return out;
}
// Equal as JSON values: numbers by value (BigInt or not), objects regardless of member order.
function sameJson(a, b) {
  const num = (x) => typeof x === 'number' || typeof x === 'bigint';
  if (num(a) || num(b)) return num(a) && num(b) && BigInt(a) === BigInt(b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a),
    kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
}
function encodeEnvelope(e) {
  const parts = [enc.encode('email-notary/envelope/v1\n'), lp(e.mail_from), u32(e.recipients.length)];
  for (const r of e.recipients) parts.push(lp(r));
  const port = new Uint8Array(2);
  new DataView(port.buffer).setUint16(0, e.client_port);
  parts.push(lp(e.client_ip), port, lp(e.helo), lp(e.tls_protocol), lp(e.tls_cipher));
  return concat(...parts);
}
// docs/canonical-form.md §3 (version 1) and §V2.9 (version 2: the part's salt follows the
// version).
function encodePartRecord(p, version) {
  if (version === 2) return partRecord(p, unhex(p.salt));
  return concat(
    u32(1),
    lp(p.position),
    lp(p.content_type),
    lp(p.charset),
    lp(p.disposition),
    lp(p.filename),
    u64(p.size),
    unhex(p.sha256),
  );
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
    const out = new Uint8Array(Math.floor((body.length * 3) / 4) + 3);
    let o = 0,
      acc = 0,
      n = 0;
    for (let i = 0; i < body.length; i++) {
      const v = B64[body[i]];
      if (v === 255) continue;
      acc = (acc << 6) | v;
      if (++n === 4) {
        out[o++] = acc >> 16;
        out[o++] = (acc >> 8) & 0xff;
        out[o++] = acc & 0xff;
        acc = 0;
        n = 0;
      }
    }
    if (n === 2) out[o++] = acc >> 4;
    else if (n === 3) {
      out[o++] = acc >> 10;
      out[o++] = (acc >> 2) & 0xff;
    }
    return out.subarray(0, o);
  }
  if (cte === 'quoted-printable') {
    // RFC 2045 §6.7 on the bytes: trailing blanks dropped, soft breaks removed, =XX decoded.
    const out = new Uint8Array(body.length);
    const isHex = (x) => (x >= 0x30 && x <= 0x39) || (x >= 0x41 && x <= 0x46) || (x >= 0x61 && x <= 0x66);
    let o = 0,
      lineStart = 0;
    for (let i = 0; i < body.length; i++) {
      const x = body[i];
      if (x === 0x0d && body[i + 1] === 0x0a) {
        while (o > lineStart && (out[o - 1] === 0x20 || out[o - 1] === 0x09)) o--;
        out[o++] = 0x0d;
        out[o++] = 0x0a;
        i++;
        lineStart = o;
      } else if (x === 0x3d && body[i + 1] === 0x0d && body[i + 2] === 0x0a) {
        i += 2;
      } else if (x === 0x3d && isHex(body[i + 1] ?? 0) && isHex(body[i + 2] ?? 0)) {
        out[o++] = parseInt(String.fromCharCode(body[i + 1], body[i + 2]), 16);
        i += 2;
      } else out[o++] = x;
    }
    return out.subarray(0, o);
  }
  if (['', '7bit', '8bit', 'binary'].includes(cte)) return body;
  return null; // x-uuencode and the rest: notary-verify only
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
    if (text.startsWith('--', start)) break; // closing delimiter
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
    leaves.set(
      top ? '1' : pos,
      type === 'message/rfc822' ? null : decodeBody(body, header(headers, 'Content-Transfer-Encoding')),
    );
  }
  return leaves;
}

// ---------- texts for people: certificate.html and VERIFY.md ----------
// "2025-11-26T10:00:00.123456Z", as notary::FormatUtcMicros writes it (years 1..9999).
export function formatUtcMicros(us) {
  us = BigInt(us);
  const DAY = 86400000000n;
  let days = us / DAY,
    rem = us % DAY;
  if (rem < 0n) {
    rem += DAY;
    days -= 1n;
  }
  const { y, m, d } = civilFromDays(Number(days));
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const sec = rem / 1000000n;
  return (
    p(y, 4) +
    '-' +
    p(m) +
    '-' +
    p(d) +
    'T' +
    p(sec / 3600n) +
    ':' +
    p((sec / 60n) % 60n) +
    ':' +
    p(sec % 60n) +
    '.' +
    p(rem % 1000000n, 6) +
    'Z'
  );
}
const MIN_TEXT_US = -62135596800000000n; // 0001-01-01T00:00:00Z
const MAX_TEXT_US = 253402300799999999n; // 9999-12-31T23:59:59.999999Z
function textTime(us) {
  us = BigInt(us);
  if (us < MIN_TEXT_US || us > MAX_TEXT_US) throw new Error('a time outside the years 1 to 9999');
  return formatUtcMicros(us);
}

function indexOfBytes(hay, needle, from) {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}
const startsWithBytes = (b, prefix) => b.length >= prefix.length && equal(b.subarray(0, prefix.length), prefix);

// The header records of a canonical form (docs/canonical-form.md §2), as evidence/src/texts.cc's
// CanonicalHeaders reads them: [[name bytes, value bytes]]; throws when malformed.
export function canonicalHeaders(form) {
  const bad = () => {
    throw new Error('canonical-form.txt is malformed');
  };
  const out = [];
  const first = form.indexOf(0x0a);
  if (first < 0 || !startsWithBytes(form, enc.encode('notary-canonical '))) bad();
  let pos = first + 1;
  while (pos < form.length) {
    const space = form.indexOf(0x20, pos);
    const nl = form.indexOf(0x0a, pos);
    if (space < 0 || (nl >= 0 && nl < space)) bad();
    const tag = form.subarray(pos, space);
    pos = space;
    const fields = [];
    while (pos < form.length && form[pos] === 0x20) {
      const colon = form.indexOf(0x3a, pos + 1);
      if (colon < 0 || colon === pos + 1 || colon - pos - 1 > 19) bad();
      let len = 0;
      for (let i = pos + 1; i < colon; i++) {
        if (form[i] < 0x30 || form[i] > 0x39) bad();
        len = len * 10 + (form[i] - 0x30);
      }
      if (len > form.length - colon - 1) bad();
      fields.push(form.subarray(colon + 1, colon + 1 + len));
      pos = colon + 1 + len;
    }
    if (pos >= form.length || form[pos] !== 0x0a) bad();
    ++pos;
    if (equal(tag, enc.encode('header'))) {
      if (fields.length !== 2) bad();
      out.push(fields);
    }
  }
  return out;
}

// The template language of evidence/src/text_template.cc (a Mustache subset), on bytes:
//   {{name}} escaped, {{&name}} as is, {{#name}}…{{/name}}, {{^name}}…{{/name}}, {{! … }};
//   a name is [a-z0-9_] segments joined by "."; the first is looked up innermost-first,
//   the rest inside it; a newline right after a section or comment tag is not output.
// View values: strings are JS strings (their UTF-8 is used) or Uint8Array (bytes as they are).
const T_TEXT = 0,
  T_VAR = 1,
  T_RAW = 2,
  T_SECTION = 3,
  T_INVERTED = 4;
const OPEN_TAG = enc.encode('{{'),
  CLOSE_TAG = enc.encode('}}');
export function parseTemplate(bytes) {
  const open = [[]];
  const names = [];
  let pos = 0;
  while (pos < bytes.length) {
    const tag = indexOfBytes(bytes, OPEN_TAG, pos);
    if (tag < 0) {
      open[open.length - 1].push({ type: T_TEXT, text: bytes.subarray(pos) });
      break;
    }
    if (tag > pos) open[open.length - 1].push({ type: T_TEXT, text: bytes.subarray(pos, tag) });
    const end = indexOfBytes(bytes, CLOSE_TAG, tag + 2);
    if (end < 0) throw new Error('template: unclosed tag');
    const body = bytes.subarray(tag + 2, end);
    pos = end + 2;
    const sigil = body.length ? String.fromCharCode(body[0]) : '';
    const blockTag = sigil === '#' || sigil === '^' || sigil === '/' || sigil === '!';
    if (blockTag && pos < bytes.length && bytes[pos] === 0x0a) ++pos; // the whitespace rule
    if (sigil === '!') continue;
    const name = String.fromCharCode(...(blockTag || sigil === '&' ? body.subarray(1) : body));
    if (!/^[a-z0-9_]+(\.[a-z0-9_]+)*$/.test(name)) throw new Error('template: bad tag {{' + name + '}}');
    if (sigil === '#' || sigil === '^') {
      open.push([]);
      names.push(sigil + name);
    } else if (sigil === '/') {
      if (!names.length || names[names.length - 1].slice(1) !== name)
        throw new Error('template: unexpected {{/' + name + '}}');
      const children = open.pop();
      const opened = names.pop();
      open[open.length - 1].push({ type: opened[0] === '#' ? T_SECTION : T_INVERTED, name, children });
    } else {
      open[open.length - 1].push({ type: sigil === '&' ? T_RAW : T_VAR, name });
    }
  }
  if (names.length) throw new Error('template: unclosed section ' + names[names.length - 1]);
  return open[0];
}
function lookup(stack, name) {
  const segs = name.split('.');
  let found;
  for (let i = stack.length - 1; i >= 0 && found === undefined; i--) {
    if (isObject(stack[i]) && Object.hasOwn(stack[i], segs[0])) found = stack[i][segs[0]];
  }
  for (let k = 1; found !== undefined && k < segs.length; k++) {
    if (!isObject(found)) return undefined;
    found = Object.hasOwn(found, segs[k]) ? found[segs[k]] : undefined;
  }
  return found;
}
function truthy(v) {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' || v instanceof Uint8Array || Array.isArray(v)) return v.length > 0;
  return true; // objects, numbers
}
class ByteSink {
  constructor() {
    this.buf = new Uint8Array(16384);
    this.n = 0;
  }
  grow(k) {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  byte(x) {
    this.grow(1);
    this.buf[this.n++] = x;
  }
  bytes(b) {
    this.grow(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  result() {
    return this.buf.slice(0, this.n);
  }
}
const HTML_ENTITIES = {
  0x26: enc.encode('&amp;'),
  0x3c: enc.encode('&lt;'),
  0x3e: enc.encode('&gt;'),
  0x22: enc.encode('&quot;'),
  0x27: enc.encode('&#39;'),
};
const REPLACEMENT_HTML = enc.encode('&#xFFFD;'),
  REPLACEMENT_TEXT = enc.encode('\uFFFD');
export const isBidiControl = (cp) =>
  cp === 0x061c || cp === 0x200e || cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
// EscapeForTemplate: HTML entities (html only); C0 controls but TAB and LF, DEL, C1 controls
// and bytes that are not UTF-8 (each, one at a time) become U+FFFD (html: "&#xFFFD;"); bidi
// controls become "[U+202E]".
function escapeInto(sink, v, html) {
  const repl = html ? REPLACEMENT_HTML : REPLACEMENT_TEXT;
  let i = 0;
  while (i < v.length) {
    const c = v[i];
    if (c < 0x80) {
      ++i;
      if (html && HTML_ENTITIES[c]) sink.bytes(HTML_ENTITIES[c]);
      else if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || c === 0x7f) sink.bytes(repl);
      else sink.byte(c);
      continue;
    }
    let len = 0,
      cp = 0;
    if ((c & 0xe0) === 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) === 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) === 0xf0) {
      len = 4;
      cp = c & 0x07;
    }
    let ok = len !== 0 && i + len <= v.length;
    for (let k = 1; ok && k < len; k++) {
      const cc = v[i + k];
      ok = (cc & 0xc0) === 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    ok =
      ok &&
      !(
        (len === 2 && cp < 0x80) ||
        (len === 3 && cp < 0x800) ||
        (len === 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) ||
        cp > 0x10ffff
      );
    if (!ok) {
      sink.bytes(repl);
      ++i;
      continue;
    }
    if (cp <= 0x9f)
      sink.bytes(repl); // C1 controls
    else if (isBidiControl(cp)) sink.bytes(enc.encode('[U+' + cp.toString(16).toUpperCase().padStart(4, '0') + ']'));
    else sink.bytes(v.subarray(i, i + len));
    i += len;
  }
}
export function escapeForTemplate(value, html) {
  const sink = new ByteSink();
  escapeInto(sink, typeof value === 'string' ? enc.encode(value) : value, html);
  return sink.result();
}
function renderNodes(nodes, stack, html, sink) {
  for (const n of nodes) {
    if (n.type === T_TEXT) {
      sink.bytes(n.text);
      continue;
    }
    const v = lookup(stack, n.name);
    if (n.type === T_VAR || n.type === T_RAW) {
      if (typeof v !== 'string' && !(v instanceof Uint8Array))
        throw new Error('template variable ' + n.name + ' is not a string');
      const b = typeof v === 'string' ? enc.encode(v) : v;
      if (n.type === T_RAW) sink.bytes(b);
      else escapeInto(sink, b, html);
    } else if (n.type === T_SECTION) {
      if (!truthy(v)) continue;
      if (Array.isArray(v)) {
        for (const item of v) {
          stack.push(item);
          renderNodes(n.children, stack, html, sink);
          stack.pop();
        }
      } else {
        const push = isObject(v);
        if (push) stack.push(v);
        renderNodes(n.children, stack, html, sink);
        if (push) stack.pop();
      }
    } else if (!truthy(v)) {
      renderNodes(n.children, stack, html, sink);
    }
  }
}
// template: parseTemplate() nodes; html: certificate.html (true) or VERIFY.md (false).
export function renderTemplate(template, view, html) {
  const sink = new ByteSink();
  renderNodes(template, [view], html, sink);
  return sink.result();
}

// The templates and labels, loaded once from notaryd (/assets/ serves web/public/).
const TEXT_ASSETS = {
  certTemplate: 'cert_template.html',
  certTemplateV1: 'cert_template_v1.html',
  verifyTemplate: 'verify_template.md',
  labels: 'cert_labels.json',
};
let textAssets = null;
export function loadTextAssets(base = '/assets/') {
  if (!textAssets) {
    textAssets = (async () => {
      const out = {};
      for (const [k, name] of Object.entries(TEXT_ASSETS)) {
        const res = await fetch(base + name, { credentials: 'omit' });
        if (!res.ok) throw new Error(base + name + ': HTTP ' + res.status);
        out[k] = new Uint8Array(await res.arrayBuffer());
      }
      return out;
    })();
    textAssets.catch(() => {
      textAssets = null;
    }); // a later bundle tries again
  }
  return textAssets;
}
// {certTemplate, certTemplateV1, verifyTemplate, labels}: bytes (or text) -> parsed templates and labels.
function prepareTextAssets(a) {
  const bytes = (x) => (typeof x === 'string' ? enc.encode(x) : x);
  const labels =
    a.labels instanceof Uint8Array || typeof a.labels === 'string'
      ? JSON.parse(typeof a.labels === 'string' ? a.labels : new TextDecoder().decode(a.labels))
      : a.labels;
  return {
    cert: parseTemplate(bytes(a.certTemplate)),
    certV1: parseTemplate(bytes(a.certTemplateV1)),
    verify: parseTemplate(bytes(a.verifyTemplate)),
    labels,
  };
}

// The view certificate.html and VERIFY.md are rendered from, field for field as TextsView
// (evidence/src/texts.cc) builds it from the evidence; throws when the evidence cannot be
// rendered (a time outside the years 1 to 9999, a canonical form that does not parse).
// The certificate's sender section, as evidence/src/texts.cc SenderView: null without sender
// evidence; strings from the bound files stay bytes.
function senderView(e, files, l) {
  const auth = e.authentication;
  if (!auth) return null;
  const record = decodeAuthRecord(unhex(auth.record_hex));
  const results = decodeAuthResults(files.get(auth.results_file) ?? new Uint8Array(0));
  const answers = decodeDnsArchive(files.get(auth.dns_archive_file) ?? new Uint8Array(0));
  const label = (result) => {
    const k = 'r_' + txt(result);
    return Object.hasOwn(l, k) && typeof l[k] === 'string' ? l[k] : result;
  };
  const dkim = results.dkim.map((d) => {
    const name = concat(d.selector, enc.encode('._domainkey.'), d.domain);
    const key = answers.find((a) => a.qtype === 16 && equal(asciiLower(a.qname), asciiLower(name))) || null;
    let published = '',
      dnssec = '';
    if (key) {
      published = textTime(key.lookedUpAt).slice(0, 16) + 'Z';
      if (key.dnssec !== 'indeterminate') dnssec = l['dnssec_' + key.dnssec] ?? '';
    }
    return { domain: d.domain, key_record: name, verdict: label(d.result), published, dnssec };
  });
  const spf = results.spf
    ? { verdict: label(results.spf.result), domain: results.spf.domain, client_ip: results.spf.client_ip }
    : null;
  const dmarc = results.dmarc
    ? { verdict: label(results.dmarc.result), domain: results.dmarc.domain, policy: results.dmarc.policy }
    : null;
  // As texts.cc: the first intermediary's words only when the chain holds, else why not.
  const arcPass = results.arc && txt(results.arc.result) === 'pass' && results.arc.sets.length > 0;
  const none = new Uint8Array(0);
  const arc = results.arc
    ? {
        verdict: label(results.arc.result),
        hops: String(results.arc.sets.length),
        sealer: arcPass ? results.arc.sets[0].seal_domain : none,
        said: arcPass ? results.arc.sets[0].auth_results : none,
        reason: arcPass ? none : results.arc.reason,
      }
    : null;
  return { checked_at: textTime(record.checkedAt), dkim, spf, dmarc, arc };
}
export async function textsView(e, files, labels) {
  if (!isObject(labels) || !Object.hasOwn(labels, e.lang)) throw new Error('lang must be en, ko or zh');
  const header = decodeHeader(unhex(e.block.header_hex));
  const received = textTime(e.receipt.received_at_us);
  const issued = textTime(e.issued_at_us);
  const dp = e.message.disclosed_part;
  const erasure = e.erasure ?? null;
  const full = dp === null && !erasure;
  const v = { lang: e.lang, l: labels[e.lang], full, disclosed_part: dp === null ? '' : dp.position };
  v.erased = null;
  if (erasure) {
    // What the sealed record and its details say; check erasure.record verifies both.
    const rec = decodeActionRecord(unhex(erasure.record_hex));
    const details = JSON.parse(erasure.details);
    if (!isObject(details) || typeof details.reason !== 'string') throw new Error('the erasure details have no reason');
    v.erased = {
      at: textTime(rec.actedAt),
      by: rec.actor,
      reason: details.reason,
      leaf_index: String(erasure.leaf_index),
      leaf_hash: hex(await leafHash(unhex(erasure.record_hex))),
    };
  }
  let subject = new Uint8Array(0),
    from = subject,
    date = subject;
  const to = [];
  if (full) {
    const isName = (b, n) => equal(b, enc.encode(n));
    for (const [name, value] of canonicalHeaders(files.get(CANONICAL_FILE) ?? new Uint8Array(0))) {
      if (isName(name, 'subject') && !subject.length) subject = value;
      if (isName(name, 'from') && !from.length) from = value;
      if (isName(name, 'date') && !date.length) date = value;
      if (isName(name, 'to')) to.push(value);
    }
  }
  const join = (list, sep) => {
    const parts = [];
    list.forEach((x, i) => {
      if (i) parts.push(enc.encode(sep));
      parts.push(typeof x === 'string' ? enc.encode(x) : x);
    });
    return concat(...parts);
  };
  Object.assign(v, { subject, from, to: join(to, ', '), date });
  // An erased message's envelope is withheld; the template shows none of these then.
  const env = e.receipt.envelope ?? {
    mail_from: '',
    recipients: [],
    client_ip: '',
    client_port: 0,
    helo: '',
    tls_protocol: '',
    tls_cipher: '',
  };
  const v2 = e.format_version >= 2;
  const pv = v2
    ? e.receipt.provenance
    : {
        source: e.receipt.source,
        listener: '',
        node: e.receipt.node,
        client_name: e.receipt.client_name,
        auth_user: e.receipt.auth_user,
        queue_id: e.receipt.queue_id,
        asserted_by: '',
      };
  v.receipt_id = e.receipt.id;
  v.received_at = received;
  v.envelope_from = env.mail_from === '' ? '<>' : env.mail_from;
  v.envelope_to = env.recipients.join(', ');
  let client = env.client_ip + ' port ' + String(env.client_port);
  if (pv.client_name !== '') client += ' (' + pv.client_name + ')';
  if (env.helo !== '') client += ', HELO ' + env.helo;
  v.client = client; // texts version 1; version 2 composes the parts with its labels
  v.client_ip = env.client_ip;
  v.client_port = String(env.client_port);
  v.client_name = pv.client_name;
  v.helo = env.helo;
  v.tls = env.tls_protocol === '' ? '' : env.tls_protocol + ' ' + env.tls_cipher;
  v.journal = e.journal_report
    ? { file: JOURNAL_FILE, sha256: hex(await sha256(files.get(JOURNAL_FILE) ?? new Uint8Array(0))) }
    : null;
  v.sender = senderView(e, files, v.l);
  v.provenance = {
    bound: v2 && e.receipt.provenance_bound,
    source: pv.source,
    asserted_by: pv.asserted_by,
    listener: pv.listener,
    node: pv.node,
    auth_user: pv.auth_user,
    queue_id: pv.queue_id,
  };
  v.raw_sha256 = e.message.raw_sha256;
  v.canonical_sha256 = e.message.canonical_sha256;
  v.canon_version = String(e.message.canon_version);
  v.parts_root = e.parts_root;
  v.parts = e.parts.map((p) => {
    // A read bundle has the withheld parts redacted.
    const shown = !p.redacted && (full || p.position === dp.position);
    return {
      position: p.position,
      shown,
      filename: shown ? p.filename : '',
      content_type: shown ? p.content_type : '',
      size: shown ? String(p.size) : '',
      sha256: shown ? p.sha256 : '',
    };
  });
  v.has_parts = v.parts.length > 0;
  const blockHash = e.block.hash;
  v.block_height = String(header.height);
  v.block_hash = blockHash;
  v.leaf_index = String(e.leaf.index);
  v.leaf_hash = e.leaf.hash;
  // The checkpoint's first two lines: origin and size, as written.
  const note = e.checkpoint.note;
  const a = note.indexOf('\n');
  const b = a < 0 ? -1 : note.indexOf('\n', a + 1);
  v.checkpoint_origin = a < 0 ? note : note.slice(0, a);
  v.checkpoint_size = a < 0 ? '' : b < 0 ? note.slice(a + 1) : note.slice(a + 1, b);
  // The names on the note's signature lines other than the notary's, as written, unchecked
  // (CosignerNames in evidence/src/texts.cc reads them the same way).
  v.witnesses = [];
  const noteLines = note.split('\n');
  const noteBlank = noteLines.indexOf('');
  if (noteBlank >= 0) {
    for (const line of noteLines.slice(noteBlank + 1)) {
      if (!line.startsWith('\u2014 ')) continue;
      const rest = line.slice(2);
      const sp = rest.indexOf(' ');
      if (sp <= 0) continue;
      const name = rest.slice(0, sp);
      if (name !== v.checkpoint_origin) v.witnesses.push({ name });
    }
  }
  v.has_witnesses = v.witnesses.length > 0;
  const tokens = [];
  const tokenList = (block, height, thisBlock) =>
    block.timestamps.map((t, i) => {
      let time = '';
      let info = null;
      try {
        info = parseTokenInfo(evidenceB64(t.token_base64));
      } catch {
        /* a token that does not parse shows no time */
      }
      if (info) time = textTime(info.genTimeUs);
      tokens.push({ height: String(height), this_block: thisBlock, tsa: t.tsa, time });
      return { file: tokenFile(height, i), block_hash: block.hash };
    });
  v.block_tokens = tokenList(e.block, header.height, true);
  v.previous = null;
  if (e.previous_block) {
    const prev = decodeHeader(unhex(e.previous_block.header_hex));
    v.previous = {
      height: String(prev.height),
      header_file: headerFile(prev.height),
      sig_file: sigFile(prev.height),
      tokens: tokenList(e.previous_block, prev.height, false),
    };
  }
  v.tokens = tokens;
  v.keys = e.keys.map((k) => ({
    key_id: k.key_id,
    fingerprint: k.fingerprint,
    signs: equal(enc.encode(k.key_id), header.keyIdBytes),
  }));
  v.issued_to = e.issued_to;
  v.issued_at = issued;
  // VERIFY.md's file names and values.
  v.key_file = concat(enc.encode('keys/'), header.keyIdBytes, enc.encode('.pem'));
  v.header_file = headerFile(header.height);
  v.sig_file = sigFile(header.height);
  v.batch_root = hex(header.batchRoot);
  v.has_chain = e.tsa.chain_pem !== '';
  v.part = null;
  if (dp) {
    for (const p of e.parts) {
      if (p.position === dp.position && !p.redacted)
        v.part = { file: partFile(p.position), sha256: p.sha256, position: p.position };
    }
  }
  return v;
}
// certificate.html and VERIFY.md as the evidence gives them: {certificate, verify} bytes.
export async function renderTexts(e, files, assets) {
  const a = prepareTextAssets(assets);
  const view = await textsView(e, files, a.labels);
  // The bundle's texts version picks the certificate template (§7): absent is 1.
  const cert = e.texts_version === 2 ? a.cert : a.certV1;
  return { certificate: renderTemplate(cert, view, true), verify: renderTemplate(a.verify, view, false) };
}

// ---------- the checks ----------
function fmtUs(us) {
  return formatUtcMicros(us);
}

// `trusted`: null (use the bundle's own keys: self-declared) or [{fingerprint, public_key_pem}].
// `assets`: {certTemplate, certTemplateV1, verifyTemplate, labels} (bytes or text) for check 21; when absent
// they are loaded from /assets/ (notaryd serves web/public/ there).
// The signature lines of a checkpoint note other than the log's own (whose name is the
// origin), read without verifying anything, with the note text they would sign.
function cosignatureLines(note) {
  if (typeof note !== 'string') return { text: '', lines: [] };
  const lines = note.split('\n');
  const blank = lines.indexOf('');
  if (blank < 1) return { text: '', lines: [] };
  const origin = lines[0];
  const out = [];
  for (const line of lines.slice(blank + 1)) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] === origin) continue;
    let sig;
    try {
      sig = unb64(m[2]);
    } catch {
      continue;
    }
    if (sig.length < 4) continue;
    let time = null;
    if (sig.length === 76) {
      let t = 0n;
      for (let i = 4; i < 12; i++) t = (t << 8n) | BigInt(sig[i]);
      if (t < 2n ** 63n / 1000000n) time = t;
    }
    out.push({ name: m[1], keyId: hex(sig.subarray(0, 4)), time, sig });
  }
  return { text: lines.slice(0, blank).join('\n') + '\n', lines: out };
}

// {name, keyId (8 hex digits), timeUs (the cosignature/v1 timestamp, or null when the line is
// not 76 bytes)} per cosignature line: unchecked claims.
export function checkpointCosignatures(note) {
  return cosignatureLines(note).lines.map((l) => ({
    name: l.name,
    keyId: l.keyId,
    timeUs: l.time === null ? null : Number(l.time) * 1e6,
  }));
}

// A witness verifier key "<name>+<8 hex key ID>+base64(0x04 || Ed25519 key)" (C2SP
// tlog-cosignature) -> {name, keyId, key}. Throws for anything else.
export async function parseWitnessKey(vkey) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(String(vkey).trim());
  if (!m) throw new Error('not a witness verifier key (name+hexid+base64)');
  const raw = unb64(m[3]);
  if (raw.length !== 33 || raw[0] !== 4) throw new Error('not a cosignature/v1 (type 0x04) Ed25519 key');
  const keyId = hex((await sha256(concat(enc.encode(m[1] + '\n'), raw))).subarray(0, 4));
  if (keyId !== m[2]) throw new Error('the key ID does not match the key');
  const key = await crypto.subtle.importKey('spki', concat(SPKI_PREFIX, raw.subarray(1)), { name: 'Ed25519' }, false, [
    'verify',
  ]);
  return { name: m[1], keyId, key };
}

// The checkpoint's cosignature lines, each {name, keyId, timeUs, status}: 'verified' by one of
// `witnessKeys` (parseWitnessKey), 'invalid' (a line by one of them that does not verify), or
// 'unchecked' (no key given for it). notary-verify --witness is the complete check.
export async function checkCosignatures(note, witnessKeys) {
  const { text, lines } = cosignatureLines(note);
  const out = [];
  for (const l of lines) {
    const k = witnessKeys.find((w) => w.name === l.name && w.keyId === l.keyId);
    let status = 'unchecked';
    if (k) {
      status = 'invalid';
      if (l.time !== null) {
        const msg = enc.encode('cosignature/v1\ntime ' + l.time.toString() + '\n' + text);
        if (await ed25519Verify(k, l.sig.subarray(12), msg)) status = 'verified';
      }
    }
    out.push({ name: l.name, keyId: l.keyId, timeUs: l.time === null ? null : Number(l.time) * 1e6, status });
  }
  return out;
}

export async function verifyBundle(files, trusted, assets) {
  const results = new Map();
  const set = (id, status, reason) => {
    if (!results.has(id)) results.set(id, { status, reason });
  };
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
    throw new Error('not an evidence bundle: ' + err.message, { cause: err });
  }
  out.receiptId = String(e.receipt?.id ?? '');
  out.certificatePdf = files.has('certificate.pdf');
  out.receivedAtUs = e.receipt?.received_at_us;
  const disclosed = e.message?.disclosed_part ?? null;
  const erasure = e.erasure ?? null; // the message was erased (§6a)

  // 1. bundle.files
  try {
    const expect = new Map([
      ['evidence.json', ejson],
      ['certificate.html', null],
      ['VERIFY.md', null],
    ]);
    if (erasure) {
      expect.set(erasure.record_file, unhex(erasure.record_hex));
      expect.set(erasure.details_file, enc.encode(erasure.details));
    } else if (disclosed) expect.set(disclosed.file, null);
    else expect.set('message.eml', null);
    expect.set(e.leaf.file, unhex(e.leaf.record_hex));
    for (const b of [e.block, e.previous_block]) {
      if (!b) continue;
      expect.set(b.header_file, unhex(b.header_hex));
      expect.set(b.signature_file, unhex(b.signature_hex));
      for (const t of b.timestamps) expect.set(t.file, evidenceB64(t.token_base64));
    }
    for (const k of e.keys) expect.set(k.file, enc.encode(k.public_key_pem));
    expect.set(e.checkpoint.file, enc.encode(e.checkpoint.note));
    expect.set(e.tsa.ca_file, enc.encode(e.tsa.ca_pem));
    if (e.tsa.chain_file) expect.set(e.tsa.chain_file, enc.encode(e.tsa.chain_pem));
    const problems = [];
    // The journal report's hashes are check 20's, as in notary-verify.
    if (e.journal_report) expect.set(e.journal_report.file, null);
    if (e.authentication) {
      // The record's copy is compared here; the other two are what the record binds (check 23).
      expect.set(e.authentication.record_file, unhex(e.authentication.record_hex));
      expect.set(e.authentication.results_file, null);
      expect.set(e.authentication.dns_archive_file, null);
    }
    // Format version 2, full bundle: the canonical form the notary computed, whose header
    // lines certificate.html shows; it must have the canonical hash the leaf record binds.
    const canonical = e.format_version >= 2 && !disclosed && !erasure;
    if (canonical) expect.set(CANONICAL_FILE, null);
    for (const [name, want] of expect) {
      const got = files.get(name);
      if (!got) problems.push(name + ' is missing');
      else if (want && !equal(got, want)) problems.push(name + ' differs from evidence.json');
    }
    // certificate.pdf (§7a): the operator's signed copy of the certificate, optional and read
    // by no check.
    if (files.has('certificate.pdf')) expect.set('certificate.pdf', null);
    for (const name of files.keys()) if (!expect.has(name)) problems.push('unexpected file ' + name);
    const form = files.get(CANONICAL_FILE);
    if (canonical && form && hex(await sha256(form)) !== e.message.canonical_sha256) {
      problems.push(CANONICAL_FILE + ' does not have the SHA-256 message.canonical_sha256 states');
    }
    if (problems.length) fail('bundle.files', problems.join('; '));
    else pass('bundle.files', expect.size + ' files, every loose copy equals evidence.json');
  } catch (err) {
    fail('bundle.files', 'evidence.json is inconsistent: ' + err.message);
  }

  // 2. message.raw_sha256, 3. message.canonical_sha256
  const eml = files.get('message.eml');
  let canonicalV2 = null;
  if (erasure) {
    const gone = 'the message was erased (check erasure.record): its ';
    skip(
      'message.raw_sha256',
      gone +
        'raw hash ' +
        e.message.raw_sha256 +
        ' is stated, bound by the leaf record; compare a copy with notary-verify --eml',
    );
    skip(
      'message.canonical_sha256',
      gone + 'canonical hash ' + e.message.canonical_sha256 + ' is stated, bound by the leaf record',
    );
  } else if (disclosed) {
    skip('message.raw_sha256', 'one attachment disclosed; message.eml is not in the bundle');
    skip('message.canonical_sha256', 'one attachment disclosed; message.eml is not in the bundle');
  } else if (!eml) {
    fail('message.raw_sha256', 'message.eml is missing');
    fail('message.canonical_sha256', 'message.eml is missing');
  } else {
    const raw = hex(await sha256(eml));
    if (raw === e.message.raw_sha256) pass('message.raw_sha256', 'SHA-256 ' + raw);
    else
      fail('message.raw_sha256', 'message.eml has SHA-256 ' + raw + ', evidence.json states ' + e.message.raw_sha256);
    if (e.message.canon_version === 2) {
      // Canonical form version 2 is specified without any library's behaviour: the browser
      // recomputes it (canonical_v2.js) as notary-verify does.
      try {
        canonicalV2 = await canonicalizeV2(eml);
        const got = hex(await sha256(canonicalV2.canonical));
        const form = files.get(CANONICAL_FILE);
        if (got !== e.message.canonical_sha256) {
          fail('message.canonical_sha256', 'recomputed ' + got + ', evidence states ' + e.message.canonical_sha256);
        } else if (!form || !equal(form, canonicalV2.canonical)) {
          fail('message.canonical_sha256', CANONICAL_FILE + ' is not the canonical form of message.eml');
        } else {
          pass('message.canonical_sha256', got + ' (canonical form v2)');
        }
      } catch (err) {
        canonicalV2 = null;
        fail('message.canonical_sha256', 'cannot canonicalise message.eml here: ' + err.message);
      }
    } else {
      skip(
        'message.canonical_sha256',
        'not checked in the browser for canonical form version ' + e.message.canon_version + ': run notary-verify',
      );
    }
  }

  // 4. parts.records
  const recordHashes = [];
  if (erasure) {
    if (e.parts.length) fail('parts.records', "an erased message's bundle lists part records");
    else skip('parts.records', 'the message was erased: its part records (which named its files) are destroyed');
    skip('parts.root', 'the message was erased: parts_root ' + e.parts_root + ' is stated, bound by the leaf record');
  } else
    try {
      const v2 = e.message.canon_version === 2;
      if (v2 && !disclosed && !canonicalV2)
        throw new Error('the message could not be canonicalised, so its parts were not recomputed');
      const leaves = v2 || !eml || disclosed ? null : mimeLeaves(eml);
      const problems = [];
      let unchecked = 0;
      for (const p of e.parts) {
        if (p.redacted) {
          recordHashes.push(unhex(p.record_leaf_hash));
          continue;
        }
        let content = null;
        if (disclosed && p.position === disclosed.position) content = files.get(disclosed.file);
        else if (leaves) content = leaves.has(p.position) ? leaves.get(p.position) : undefined;
        if (content === undefined) problems.push('part ' + p.position + ' not found in message.eml');
        else if (content === null) {
          if (!v2 || disclosed) unchecked++;
        } else {
          const h = hex(await sha256(content));
          if (h !== p.sha256 || content.length !== p.size) {
            problems.push('part ' + p.position + ' has SHA-256 ' + h + ' and ' + content.length + ' bytes');
          }
        }
        const rh = await leafHash(encodePartRecord(p, e.message.canon_version));
        if (hex(rh) !== p.record_leaf_hash)
          problems.push('record of part ' + p.position + ' does not give its record_leaf_hash');
        recordHashes.push(rh);
      }
      if (leaves && leaves.size !== e.parts.length)
        problems.push('message.eml has ' + leaves.size + ' parts, evidence.json lists ' + e.parts.length);
      if (v2 && !disclosed) {
        // Version 2: the parts canonical_v2.js derived from message.eml, field by field.
        const got = canonicalV2.parts;
        if (got.length !== e.parts.length)
          problems.push('message.eml has ' + got.length + ' parts, evidence.json lists ' + e.parts.length);
        else {
          got.forEach((g, k) => {
            const p = e.parts[k];
            for (const f of ['position', 'content_type', 'charset', 'disposition', 'filename', 'sha256']) {
              if (g[f] !== p[f]) problems.push('part ' + g.position + ' differs from its record in ' + f);
            }
            if (g.size !== p.size) problems.push('part ' + g.position + ' differs from its record in size');
          });
        }
      }
      if (disclosed && !files.get(disclosed.file)) problems.push(disclosed.file + ' is missing');
      if (problems.length) fail('parts.records', problems.join('; '));
      else
        pass(
          'parts.records',
          e.parts.length +
            ' part records' +
            (unchecked ? ' (' + unchecked + ' in a transfer encoding only notary-verify decodes)' : ''),
        );
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
  let leafBytes = null,
    leafH = null;
  try {
    leafBytes = unhex(e.leaf.record_hex);
    const l = decodeLeaf(leafBytes);
    // An erased message's envelope is withheld: its digest stays in the record, unchecked.
    const env = erasure ? null : hex(await sha256(encodeEnvelope(e.receipt.envelope)));
    const same = (bytes, str) => equal(bytes, enc.encode(str));
    const diffs = [];
    if (!same(l.receiptId, e.receipt.id)) diffs.push('receipt.id');
    if (l.receivedAt !== BigInt(e.receipt.received_at_us))
      diffs.push('receipt.received_at_us (record says ' + fmtUs(l.receivedAt) + ')');
    if (!same(l.tenant, e.receipt.tenant)) diffs.push('receipt.tenant');
    if (hex(l.raw) !== e.message.raw_sha256) diffs.push('message.raw_sha256');
    if (hex(l.canonical) !== e.message.canonical_sha256) diffs.push('message.canonical_sha256');
    if (BigInt(l.canonVersion) !== BigInt(e.message.canon_version)) diffs.push('message.canon_version');
    if (hex(l.partsRoot) !== e.parts_root) diffs.push('parts_root');
    if (!erasure && hex(l.envelope) !== env)
      diffs.push('receipt.envelope (the envelope digest recomputed from it differs)');
    // Version 2 binds the provenance; a bundle must then say so, and must not claim it for a
    // version 1 record, whose provenance nothing binds.
    const bound = e.format_version >= 2 && e.receipt.provenance_bound;
    if (l.version >= 2) {
      if (!bound) diffs.push('receipt.provenance_bound (must be true)');
      const pv =
        e.format_version >= 2
          ? e.receipt.provenance
          : { ...e.receipt, listener: '', asserted_by: '', journal_report_sha256: null };
      const journal = pv.journal_report_sha256 === null ? '0'.repeat(64) : pv.journal_report_sha256;
      if (
        PROVENANCE_FIELDS.some((f) => !same(l.provenance[f], pv[f])) ||
        hex(l.provenance.journal_report_sha256) !== journal
      )
        diffs.push('receipt.provenance');
    } else if (bound) {
      diffs.push('receipt.provenance_bound (a version 1 record binds no provenance)');
    }
    if (diffs.length)
      fail('leaf.record', 'the notarised leaf record disagrees with evidence.json: ' + diffs.join('; '));
    else
      pass(
        'leaf.record',
        'receipt ' +
          e.receipt.id +
          ' (leaf record version ' +
          l.version +
          '), received ' +
          fmtUs(l.receivedAt) +
          ', hashes, tenant' +
          (l.version >= 2 ? ', provenance' : '') +
          (erasure
            ? ' match; the envelope was erased (its digest ' + hex(l.envelope) + ' stays in the record)'
            : ' and envelope digest ' + env + ' all match'),
      );
  } catch (err) {
    fail('leaf.record', 'leaf record does not decode: ' + err.message);
  }
  if (leafBytes) {
    leafH = await leafHash(leafBytes);
    if (hex(leafH) === e.leaf.hash) pass('leaf.hash', hex(leafH));
    else {
      fail('leaf.hash', 'recomputed ' + hex(leafH) + ', evidence.json states ' + e.leaf.hash);
    }
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
    if (BigInt(e.batch_proof.index) !== idx - hdr.first || BigInt(e.batch_proof.size) !== hdr.count)
      problems.push('batch_proof index/size');
    if (problems.length) {
      fail('block.header', problems.join('; '));
      hdr = null;
    } else pass('block.header', 'height ' + hdr.height + ', leaves ' + hdr.first + '..' + (hdr.treeSize - 1n));
  } catch (err) {
    fail('block.header', err.message);
  }

  // 9. batch.inclusion
  if (hdr && leafH) {
    const root = await rootFromInclusion(
      e.batch_proof.index,
      e.batch_proof.size,
      leafH,
      e.batch_proof.hashes.map(unhex),
    ).catch(() => null);
    if (root && equal(root, hdr.batchRoot))
      pass(
        'batch.inclusion',
        'leaf ' + e.batch_proof.index + ' of ' + e.batch_proof.size + ' gives batch_root ' + hex(hdr.batchRoot),
      );
    else fail('batch.inclusion', 'the proof does not lead to batch_root ' + hex(hdr.batchRoot));
  } else fail('batch.inclusion', 'needs the block header and the leaf hash');

  // Keys: trusted ones (published by this notary) or the bundle's own (self-declared).
  const bundleKeys = [];
  for (const k of e.keys) {
    try {
      const pk = await keyFromPem(k.public_key_pem);
      if (pk.fingerprint === k.fingerprint && pk.keyId === k.key_id) bundleKeys.push({ ...pk, entry: k });
    } catch {
      /* an entry that does not match its PEM is ignored (§4 check 10) */
    }
  }
  const trustedFps = trusted ? new Set(trusted.map((t) => t.fingerprint)) : null;
  const keyFor = (keyId) => {
    const k = bundleKeys.find((x) => x.keyId === keyId);
    if (!k) return { error: 'no key ' + keyId + ' in the bundle' };
    if (trustedFps && !trustedFps.has(k.fingerprint))
      return { error: 'key ' + k.fingerprint + ' is not one this notary publishes' };
    return { key: k };
  };
  async function blockSig(b, h) {
    const k = keyFor(h.keyId);
    if (k.error) return k.error;
    const ok = await ed25519Verify(
      k.key,
      unhex(b.signature_hex),
      concat(enc.encode('email-notary/block/v1\n'), unhex(b.header_hex)),
    );
    if (!ok) return 'the Ed25519 signature does not verify with key ' + k.key.fingerprint;
    const from = BigInt(k.key.entry.valid_from_us);
    const until = k.key.entry.valid_until_us == null ? null : BigInt(k.key.entry.valid_until_us);
    if (h.sealedAt < from || (until !== null && h.sealedAt >= until)) return "sealed outside the key's validity";
    out.keyFingerprint = k.key.fingerprint;
    return null;
  }

  // 10. block.signature, 11. block.hash
  let blockHash = null;
  if (hdr) {
    const err = await blockSig(e.block, hdr);
    if (err) fail('block.signature', err);
    else
      pass(
        'block.signature',
        'Ed25519 by key ' + out.keyFingerprint + (trusted ? ' (published by this notary)' : ' (self-declared)'),
      );
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
    let earliest = null,
      latest = null;
    for (const t of b.timestamps) {
      let tok;
      try {
        tok = parseToken(evidenceB64(t.token_base64));
      } catch (err) {
        return { error: t.file + ': ' + err.message };
      }
      if (!equal(tok.imprint, h))
        return { error: t.file + ': message imprint ' + hex(tok.imprint) + ' is not the block hash' };
      const hi = tok.genTimeUs + tok.accuracyUs,
        lo = tok.genTimeUs - tok.accuracyUs;
      if (earliest === null || hi < earliest) earliest = hi;
      if (latest === null || lo > latest) latest = lo;
    }
    return { notAfter: earliest, notBefore: latest, n: b.timestamps.length };
  }
  let notAfter = null,
    notBefore = null;
  if (blockHash && hex(blockHash) === e.block.hash) {
    const r = await imprints(e.block, blockHash);
    if (r.error) fail('timestamp.block', r.error);
    else {
      notAfter = r.notAfter;
      pass(
        'timestamp.block',
        r.n +
          ' token(s) over the block hash, no later than ' +
          fmtUs(notAfter) +
          '; CMS signatures and TSA certificates: checked by notary-verify only',
      );
    }
  } else fail('timestamp.block', 'needs the block hash');

  // 13. timestamp.previous
  if (!hdr) {
    fail('timestamp.previous', 'needs the block header');
  } else if (!e.previous_block) {
    // Without its predecessor a block has no lower time bound: only the genesis block may lack it.
    if (hdr.height === 0n) skip('timestamp.previous', 'the genesis block has no predecessor');
    else
      fail(
        'timestamp.previous',
        'block ' + hdr.height + ' is not the genesis block, but the bundle carries no previous block',
      );
  } else if (hdr.height === 0n) {
    fail('timestamp.previous', 'the genesis block has no previous block, yet the bundle gives one');
  } else {
    try {
      const pb = e.previous_block;
      const ph = decodeHeader(unhex(pb.header_hex));
      const h = await sha256(concat(unhex(pb.header_hex), unhex(pb.signature_hex)));
      const problems = [];
      if (ph.height + 1n !== hdr.height) problems.push('height is not ' + (hdr.height - 1n));
      if (hex(h) !== pb.hash || !equal(h, hdr.prev)) problems.push("its hash is not the block's prev_block_hash");
      const sigErr = problems.length ? null : await blockSig(pb, ph);
      if (sigErr) problems.push(sigErr);
      let r = null;
      if (!problems.length) {
        r = await imprints(pb, h);
        if (r.error) problems.push(r.error);
      }
      if (problems.length) fail('timestamp.previous', problems.join('; '));
      else {
        notBefore = r.notBefore;
        pass('timestamp.previous', 'block ' + ph.height + ', no earlier than ' + fmtUs(notBefore));
      }
    } catch (err) {
      fail('timestamp.previous', err.message);
    }
  }

  // 14. timestamp.interval
  const received = BigInt(e.receipt.received_at_us);
  if (notAfter === null) fail('timestamp.interval', "needs the block's time-stamps");
  else if (received > notAfter)
    fail('timestamp.interval', 'received ' + fmtUs(received) + ' after the time-stamp ' + fmtUs(notAfter));
  else if (notBefore !== null && received < notBefore - 60000000n)
    fail(
      'timestamp.interval',
      'received ' + fmtUs(received) + " more than a minute before the previous block's time-stamp",
    );
  else
    pass(
      'timestamp.interval',
      fmtUs(received) + ' lies in [' + (notBefore === null ? '-' : fmtUs(notBefore)) + ', ' + fmtUs(notAfter) + ']',
    );

  // 15. checkpoint.signature
  let cp = null;
  try {
    const note = e.checkpoint.note;
    // The note text runs to the first empty line: origin, size, root, then any C2SP extension
    // lines (signed, given no meaning; docs/evidence-format.md), as notary-verify reads it.
    const lines = note.split('\n');
    const blank = lines.indexOf('');
    if (blank < 3 || !note.endsWith('\n')) throw new Error('not a signed note');
    const text = lines.slice(0, blank).join('\n') + '\n';
    const origin = lines[0];
    if (!/^(0|[1-9][0-9]{0,19})$/.test(lines[1]) || !CANONICAL_B64.test(lines[2]) || lines[2].length !== 44) {
      throw new Error('not a checkpoint');
    }
    const size = BigInt(lines[1]);
    const root = unb64(lines[2]);
    let verified = null,
      sawTrusted = false;
    for (const line of lines.slice(blank + 1)) {
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
    if (!verified)
      throw new Error(
        sawTrusted ? 'the signature by the notary key does not verify' : 'no signature by a trusted notary key',
      );
    cp = { size, root };
    pass('checkpoint.signature', origin + ', size ' + size + ', key ' + verified.fingerprint);
  } catch (err) {
    fail('checkpoint.signature', err.message);
  }

  // 16. checkpoint.inclusion
  if (cp && hdr && leafH) {
    let problem = null;
    if (cp.size < hdr.treeSize) problem = 'the checkpoint is older than the block';
    else if (cp.size === hdr.treeSize && !equal(cp.root, hdr.treeRoot))
      problem = 'same size as the block but another root';
    else {
      const r = await rootFromInclusion(e.leaf.index, cp.size, leafH, e.checkpoint.inclusion_proof.map(unhex)).catch(
        () => null,
      );
      if (!r || !equal(r, cp.root)) problem = 'the proof does not lead to the checkpoint root ' + hex(cp.root);
    }
    if (problem) fail('checkpoint.inclusion', problem);
    else pass('checkpoint.inclusion', 'leaf ' + e.leaf.index + ' of ' + cp.size);
  } else fail('checkpoint.inclusion', 'needs a valid checkpoint, the block header and the leaf hash');

  skip('checkpoint.consistency', 'no newer checkpoint given (notary-verify --checkpoint)');
  skip('eml.compare', 'no other copy given (notary-verify --eml)');
  skip('attachment.match', 'no file given (notary-verify --attachment)');
  // 20. journal.report: its hashes here; notary-verify also reads it (envelope, original).
  const boundReport =
    e.format_version >= 2 && e.receipt.provenance_bound && e.receipt.provenance.journal_report_sha256 !== null;
  if (!e.journal_report) {
    if (boundReport && erasure) {
      skip(
        'journal.report',
        'the message was erased and the journal report with it (its hash ' +
          e.receipt.provenance.journal_report_sha256 +
          ' stays bound by the leaf record)',
      );
    } else if (boundReport && !disclosed) {
      fail(
        'journal.report',
        'the leaf record says the message was unwrapped from a journal report, but the bundle does not carry it',
      );
    } else {
      skip(
        'journal.report',
        boundReport
          ? 'selective disclosure: the journal report (hash bound by the leaf record) is withheld with the message'
          : 'the message did not arrive in an Exchange journal report',
      );
    }
  } else {
    const report = files.get(e.journal_report.file);
    const h = report ? hex(await sha256(report)) : null;
    const bound = e.format_version >= 2 && e.receipt.provenance_bound;
    const boundHash = bound ? (e.receipt.provenance.journal_report_sha256 ?? '0'.repeat(64)) : null;
    if (!report) fail('journal.report', e.journal_report.file + ' is missing');
    else if (bound && h !== boundHash)
      fail(
        'journal.report',
        'SHA-256 of ' + e.journal_report.file + ' is ' + h + ', not the report hash the leaf record binds',
      );
    else if (h !== e.journal_report.sha256)
      fail(
        'journal.report',
        'SHA-256 of ' + e.journal_report.file + ' is ' + h + ', evidence states ' + e.journal_report.sha256,
      );
    else
      skip(
        'journal.report',
        e.journal_report.file +
          ' has the SHA-256 ' +
          h +
          (bound ? ' the leaf record binds' : ' evidence.json states') +
          '; notary-verify reads it and compares it with the sealed envelope',
      );
  }

  // 21. texts.rendered: certificate.html and VERIFY.md are what evidence.json gives.
  if (e.format_version < 2) {
    fail(
      'texts.rendered',
      'a format version 1 bundle carries a certificate.html and VERIFY.md that no ' +
        'verifier can derive from its evidence: do not rely on them; download the ' +
        'bundle again (the evidence is the same, the texts are then checked)',
    );
  } else {
    let texts = null,
      a = assets;
    try {
      a ??= await loadTextAssets();
    } catch (err) {
      fail(
        'texts.rendered',
        'the templates could not be loaded (' + err.message + '): certificate.html and VERIFY.md were not checked',
      );
    }
    if (a) {
      try {
        texts = await renderTexts(e, files, a);
      } catch (err) {
        fail('texts.rendered', 'the evidence cannot be rendered: ' + err.message);
      }
    }
    if (texts) {
      const problems = [];
      for (const [name, want] of [
        ['certificate.html', texts.certificate],
        ['VERIFY.md', texts.verify],
      ]) {
        const got = files.get(name);
        if (!got || !equal(got, want)) problems.push(' ' + name + ' is not what evidence.json gives;');
      }
      out.renderedTexts = texts;
      if (problems.length) fail('texts.rendered', 'Changed after issue:' + problems.join('') + ' do not rely on it');
      else pass('texts.rendered', 'both re-rendered from evidence.json (lang ' + e.lang + ') byte for byte');
    }
  }

  // 22. checkpoint.witnesses: the cosignature/v1 lines of independent witnesses on the
  // checkpoint, listed (name, key ID, time) but unchecked: the browser is given no witness key,
  // as notary-verify without --witness (docs/verifying.md).
  out.checkpointNote = e.checkpoint && e.checkpoint.note;
  out.cosignatures = checkpointCosignatures(out.checkpointNote);
  skip(
    'checkpoint.witnesses',
    out.cosignatures.length === 0
      ? 'no witness policy given (--witness); the checkpoint carries no cosignature'
      : 'no witness policy given (--witness); the checkpoint carries ' +
          out.cosignatures.length +
          ' cosignature line(s), unchecked: ' +
          out.cosignatures.map((c) => c.name + ' (' + c.keyId + ')').join(', '),
  );

  // 23. sender.record: the authentication record (docs/evidence-format.md) names this receipt
  // and its leaf, binds the results and DNS archive files by their SHA-256, and is a leaf of the
  // checkpoint's tree. The readable summary is rendered from those files by notary-verify,
  // which compares it; the browser shows it as the notary states it.
  const auth = e.authentication;
  if (!auth) {
    const none =
      'the bundle carries no sender evidence (the notary had not checked the sender when it was issued, or does not check senders)';
    skip('sender.record', none);
    skip('sender.dkim', none);
    skip('sender.policy', none);
    skip('sender.dnssec', none);
  } else {
    let bound = false;
    try {
      const recBytes = unhex(auth.record_hex);
      const rec = decodeAuthRecord(recBytes);
      const results = files.get(auth.results_file);
      const archive = files.get(auth.dns_archive_file);
      if (!results || !archive) throw new Error('the results or the DNS archive file is missing');
      const rh = hex(await sha256(results));
      const ah = hex(await sha256(archive));
      const diffs = [];
      if (!equal(rec.receiptId, enc.encode(e.receipt.id))) diffs.push('it names another receipt');
      if (!leafH || !equal(rec.receiptLeaf, leafH)) diffs.push("it does not name this message's leaf hash");
      if (rh !== hex(rec.results)) diffs.push(auth.results_file + ' is not what the record binds');
      if (ah !== hex(rec.archive)) diffs.push(auth.dns_archive_file + ' is not what the record binds');
      if (rh !== auth.results_sha256 || ah !== auth.dns_archive_sha256)
        diffs.push('evidence.json states other digests than the files have');
      const lh = await leafHash(recBytes);
      if (hex(lh) !== auth.leaf_hash) diffs.push('evidence.json states another leaf hash');
      if (rec.checkedAt < BigInt(e.receipt.received_at_us))
        diffs.push('it was checked before the message was received');
      if (BigInt(auth.leaf_index) === BigInt(e.leaf.index)) diffs.push("it claims the message's own leaf index");
      if (diffs.length) throw new Error('the authentication record does not bind this evidence: ' + diffs.join('; '));
      if (!cp) throw new Error('no verified checkpoint to find the record in');
      const root = await rootFromInclusion(auth.leaf_index, cp.size, lh, auth.inclusion_proof.map(unhex)).catch(
        () => null,
      );
      if (!root || !equal(root, cp.root))
        throw new Error("the record's leaf " + auth.leaf_index + " is not proven in the checkpoint's tree");
      const summary = authenticationSummary(
        rec,
        decodeAuthResults(results),
        decodeDnsArchive(archive),
        auth.leaf_index,
      );
      if (!sameJson(summary, auth.summary))
        throw new Error(
          "evidence.json's authentication.summary is not what the bound results and DNS answers say (edited after issue)",
        );
      bound = true;
      pass(
        'sender.record',
        'record at leaf ' +
          auth.leaf_index +
          ' (in the checkpoint of ' +
          cp.size +
          ') names this receipt and its leaf; checked ' +
          fmtUs(rec.checkedAt) +
          '; results ' +
          rh +
          ', archive ' +
          ah,
      );
    } catch (err) {
      fail('sender.record', err.message);
    }
    const rerun = bound
      ? 'the browser cannot run OpenDKIM, libspf2 and libopendmarc: notary-verify re-runs the checks offline from the archived answers'
      : 'not re-run: the sender evidence is not bound (check sender.record)';
    skip('sender.dkim', rerun);
    skip('sender.policy', rerun);
    skip(
      'sender.dnssec',
      bound
        ? 'the browser is given no DNSSEC trust anchor and has no DNSSEC validator: notary-verify validates the archived signatures'
        : 'not checked: the sender evidence is not bound (check sender.record)',
    );
  }

  // 27. erasure.record: the sealed record of the erasure names this receipt, binds the details
  // shown, and is a leaf of the checkpoint's tree.
  if (!erasure) skip('erasure.record', 'the message was not erased');
  else {
    try {
      const recBytes = unhex(erasure.record_hex);
      const rec = decodeActionRecord(recBytes);
      const diffs = [];
      if (!equal(rec.action, enc.encode('erasure'))) diffs.push('it records another action than an erasure');
      if (!equal(rec.subject, enc.encode(e.receipt.id))) diffs.push('it names another receipt');
      if (!equal(rec.tenant, enc.encode(e.receipt.tenant))) diffs.push('it names another tenant');
      if (rec.actedAt < BigInt(e.receipt.received_at_us)) diffs.push('it is dated before the message was received');
      if (hex(await sha256(enc.encode(erasure.details))) !== hex(rec.details))
        diffs.push(ERASURE_DETAILS_FILE + ' is not the details it binds');
      let details = null;
      try {
        details = JSON.parse(erasure.details);
      } catch {
        /* reported below */
      }
      if (!isObject(details) || details.receipt !== e.receipt.id || typeof details.reason !== 'string')
        diffs.push('its details are not {"receipt": this receipt, "reason": text}');
      const lh = await leafHash(recBytes);
      if (hex(lh) !== erasure.leaf_hash) diffs.push('evidence.json states another leaf hash');
      if (BigInt(erasure.leaf_index) === BigInt(e.leaf.index)) diffs.push("it claims the message's own leaf index");
      if (diffs.length) throw new Error('the erasure record does not record this erasure: ' + diffs.join('; '));
      if (!cp) throw new Error("no verified checkpoint to find the record's leaf in");
      const root = await rootFromInclusion(erasure.leaf_index, cp.size, lh, erasure.inclusion_proof.map(unhex)).catch(
        () => null,
      );
      if (!root || !equal(root, cp.root))
        throw new Error("the record's leaf " + erasure.leaf_index + " is not proven in the checkpoint's tree");
      out.erasedAtUs = rec.actedAt;
      out.erasureReason = details.reason;
      pass(
        'erasure.record',
        'erased ' +
          fmtUs(rec.actedAt) +
          ' by ' +
          (rec.actor.length ? utf8Lenient.decode(rec.actor) : '(no actor)') +
          ', reason "' +
          details.reason +
          '"; record at leaf ' +
          erasure.leaf_index +
          " in the checkpoint's tree of " +
          cp.size +
          ": the message's bytes and personal fields are gone, its hashes and proofs stay",
      );
    } catch (err) {
      fail('erasure.record', err.message);
    }
  }

  out.checks = CHECKS.map(([id, name]) => ({
    id,
    name,
    ...(results.get(id) || { status: 'FAIL', reason: 'not run' }),
  }));
  out.valid = out.checks.every((c) => c.status !== 'FAIL');
  out.failed = out.checks.filter((c) => c.status === 'FAIL').map((c) => c.id);
  out.notAfterUs = notAfter;
  return out;
}
