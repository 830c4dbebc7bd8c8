// The browser verifier's canonical form version 2 (verify.js imports it): a second
// implementation, next to the C++ one in mime/, written in JavaScript from
// docs/canonical-form.md ("Version 2") alone, with the platform's TextDecoder for charsets and
// atob() for RFC 2047 B words, as a browser verifier would do it. It exists to show that the
// spec is enough and to check the vectors in tests/data/canonical-v2/ from outside the C++
// code: run_reference.mjs runs it in headless Chromium (and in Node.js) against them.
//
// It follows the spec's wording rather than speed: multipart bodies are split level by level
// (the range semantics of §V2.5), not in one pass as the C++ code does.
//
// Exports: canonicalizeV2(bytes) -> Promise<{canonical: Uint8Array, parts: [...]}> and
// partRecord(part, salt) -> Uint8Array. Needs TextDecoder, TextEncoder, atob and
// crypto.subtle (browsers; Node.js 19 and later).

const MAX_PARTS = 10000;
const MAX_DEPTH = 100;
const MAX_PREPARED = 2 ** 30;
const HEADER_NAMES = ['from', 'sender', 'reply-to', 'to', 'cc', 'subject', 'date', 'message-id', 'in-reply-to'];

const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------- bytes and text helpers

// The message is handled as a "binary string": one JS character per byte (0-255).
function binaryString(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return s;
}
function bytesOf(binary) {
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
function utf8(text) {
  return utf8Encoder.encode(text);
}
async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
const isWsp = (c) => c === ' ' || c === '\t';
const isWhitespace = (c) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

// §V2.0: "get an encoding", then decode with error mode replacement. TextDecoder's
// constructor throws for unknown labels and for the replacement encoding alike; both are
// "no usable encoding" everywhere in the spec. A new decoder for every call (Chromium keeps
// ISO-2022-JP state across decode() calls of one decoder).
function decoderFor(label) {
  try {
    return new TextDecoder(label);
  } catch (e) {
    return null;
  }
}
function decodeWith(label, bytes) {
  return decoderFor(label).decode(bytes);
}
function isValidUtf8(bytes) {
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch (e) {
    return false;
  }
}
// Header bytes as text (§V2.2): as they are when valid UTF-8 (BOM kept), else windows-1252.
function headerText(bytes) {
  if (isValidUtf8(bytes)) return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  return new TextDecoder('windows-1252').decode(bytes);
}

// ---------------------------------------------------------------- §V2.3 encoded words

function decodeQ(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '_') {
      out.push(0x20);
    } else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(text.substr(i + 1, 2))) {
      out.push(parseInt(text.substr(i + 1, 2), 16));
      i += 2;
    } else {
      out.push(c.charCodeAt(0));
    }
  }
  return Uint8Array.from(out);
}

const WORD = /=\?([\x21-\x3c\x3e\x40-\x7e]+)\?([BbQq])\?([\x21-\x3e\x40-\x7e]*)\?=/y;

function decodeEncodedWords(text) {
  let out = '';
  let run = []; // [{label, encoding, bytes: number[]}]
  const flush = () => {
    for (const g of run) out += decodeWith(g.label, Uint8Array.from(g.bytes));
    run = [];
  };
  let literalStart = 0;
  let i = 0;
  while (true) {
    const k = text.indexOf('=?', i);
    if (k < 0) break;
    WORD.lastIndex = k;
    const m = WORD.exec(text);
    let word = null;
    if (m) {
      const label = m[1].split('*')[0];
      const decoder = label === '' ? null : decoderFor(label);
      if (decoder) {
        let bytes;
        if (m[2] === 'B' || m[2] === 'b') {
          try {
            bytes = bytesOf(atob(m[3]));
          } catch (e) {
            bytes = null;
          }
        } else {
          bytes = decodeQ(m[3]);
        }
        if (bytes) word = { label, encoding: decoder.encoding, bytes: Array.from(bytes) };
      }
    }
    if (!word) {
      i = k + 1;
      continue;
    }
    const between = text.slice(literalStart, k);
    if (run.length === 0 || ![...between].every(isWhitespace)) {
      flush();
      out += between;
    }
    const last = run[run.length - 1];
    if (last && last.encoding === word.encoding) {
      last.bytes.push(...word.bytes);
    } else {
      run.push(word);
    }
    literalStart = k + m[0].length;
    i = literalStart;
  }
  flush();
  return out + text.slice(literalStart);
}

function collapse(text) {
  return text
    .split(/[ \t\r\n]+/)
    .filter((s) => s !== '')
    .join(' ');
}

// ---------------------------------------------------------------- §V2.4 structured values

const TSPECIALS = '()<>@,;:\\"/[]?=';
const isTokenChar = (c) => c >= '!' && c <= '~' && !TSPECIALS.includes(c);

class Reader {
  constructor(s) {
    this.s = s;
    this.i = 0;
  }
  get done() {
    return this.i >= this.s.length;
  }
  get c() {
    return this.s[this.i];
  }
  comment() {
    let depth = 0;
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '\\') {
        this.i += 2;
        continue;
      }
      this.i++;
      if (c === '(') depth++;
      if (c === ')' && --depth === 0) return;
    }
    this.i = this.s.length;
  }
  cfws() {
    while (!this.done) {
      if (isWhitespace(this.c)) this.i++;
      else if (this.c === '(') this.comment();
      else return;
    }
  }
  token() {
    const start = this.i;
    while (!this.done && isTokenChar(this.c)) this.i++;
    return this.s.slice(start, this.i);
  }
  quoted() {
    let out = '';
    this.i++;
    while (!this.done) {
      const c = this.c;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '\\') {
        if (this.i + 1 < this.s.length) out += this.s[this.i + 1];
        this.i += 2;
        continue;
      }
      out += c;
      this.i++;
    }
    this.i = this.s.length;
    return out;
  }
  bare() {
    const start = this.i;
    while (!this.done && this.c !== ';' && this.c !== '"' && !isWhitespace(this.c)) this.i++;
    return this.s.slice(start, this.i);
  }
  toSemicolon() {
    while (!this.done && this.c !== ';') {
      if (this.c === '"') this.quoted();
      else if (this.c === '(') this.comment();
      else this.i++;
    }
  }
}

function parameters(r) {
  const out = [];
  const seen = new Set();
  while (!r.done) {
    if (r.c !== ';') {
      r.toSemicolon();
      continue;
    }
    r.i++;
    r.cfws();
    if (r.done) break;
    if (r.c === ';') continue;
    const attribute = r.token();
    r.cfws();
    if (attribute === '' || r.done || r.c !== '=') {
      r.toSemicolon();
      continue;
    }
    r.i++;
    r.cfws();
    let value;
    if (!r.done && r.c === '"') {
      value = r.quoted();
    } else {
      value = r.bare();
      if (value === '') {
        r.toSemicolon();
        continue;
      }
    }
    r.cfws();
    if (!r.done && r.c !== ';') {
      r.toSemicolon();
      continue;
    }
    let name = asciiLower(attribute);
    let extended = false;
    if (name.endsWith('*')) {
      extended = true;
      name = name.slice(0, -1);
    }
    let section = -1;
    const m = /^(.*)\*(0|[1-9][0-9]{0,8})$/s.exec(name);
    if (m) {
      name = m[1];
      section = Number(m[2]);
    }
    const key = section >= 0 ? `${name}*${section}` : extended ? `${name}*` : name;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name, section, extended, value });
  }
  return out;
}

function contentType(value) {
  const r = new Reader(value);
  r.cfws();
  const type = r.token();
  r.cfws();
  if (type === '' || r.done || r.c !== '/') return null;
  r.i++;
  r.cfws();
  const subtype = r.token();
  r.cfws();
  if (subtype === '' || (!r.done && r.c !== ';')) return null;
  return { type: asciiLower(type), subtype: asciiLower(subtype), params: parameters(r) };
}

function contentDisposition(value) {
  const r = new Reader(value);
  r.cfws();
  if (r.done) return { kind: 'absent', params: [] };
  const type = r.token();
  r.cfws();
  let kind = 'valid';
  if (type === '' || (!r.done && r.c !== ';')) {
    kind = 'invalid';
    r.toSemicolon();
  }
  return { kind, type: asciiLower(type), params: parameters(r) };
}

function transferMechanism(value) {
  const r = new Reader(value);
  r.cfws();
  const token = r.token();
  r.cfws();
  return token !== '' && r.done ? asciiLower(token) : '';
}

function percentDecode(text) {
  const bytes = utf8(text);
  const out = [];
  for (let i = 0; i < bytes.length; i++) {
    const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
    if (bytes[i] === 0x25 && i + 2 < bytes.length && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(bytes[i]);
    }
  }
  return out;
}

function splitExtended(value) {
  const q1 = value.indexOf("'");
  const q2 = q1 < 0 ? -1 : value.indexOf("'", q1 + 1);
  if (q2 < 0) return { charset: '', text: value };
  return { charset: value.slice(0, q1), text: value.slice(q2 + 1) };
}

function readWithCharset(charset, bytes) {
  const array = Uint8Array.from(bytes);
  if (charset !== '' && decoderFor(charset)) return decodeWith(charset, array);
  return headerText(array);
}

function parameter(params, name, rfc2047) {
  const ext = params.find((p) => p.name === name && p.section < 0 && p.extended);
  if (ext) {
    const { charset, text } = splitExtended(ext.value);
    return readWithCharset(charset, percentDecode(text));
  }
  const sections = new Map();
  for (const p of params) if (p.name === name && p.section >= 0) sections.set(p.section, p);
  if (sections.has(0)) {
    let charset = '';
    let bytes = [];
    let anyExtended = false;
    for (let k = 0; sections.has(k); k++) {
      const p = sections.get(k);
      if (p.extended) {
        anyExtended = true;
        let text = p.value;
        if (k === 0) ({ charset, text } = splitExtended(p.value));
        bytes = bytes.concat(percentDecode(text));
      } else {
        bytes = bytes.concat(Array.from(utf8(p.value)));
      }
    }
    if (anyExtended) return readWithCharset(charset, bytes);
    const joined = new TextDecoder().decode(Uint8Array.from(bytes));
    return rfc2047 ? decodeEncodedWords(joined) : joined;
  }
  const plain = params.find((p) => p.name === name && p.section < 0 && !p.extended);
  if (plain) return rfc2047 ? decodeEncodedWords(plain.value) : plain.value;
  return null;
}

// ---------------------------------------------------------------- §V2.6 transfer decoding

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64Body(binary) {
  const out = [];
  let acc = 0;
  let n = 0;
  for (const c of binary) {
    const v = B64.indexOf(c);
    if (v >= 0) {
      acc = acc * 64 + v;
      if (++n === 4) {
        out.push((acc >> 16) & 255, (acc >> 8) & 255, acc & 255);
        acc = 0;
        n = 0;
      }
    } else if (c === '=' && (n === 2 || n === 3)) {
      if (n === 2) out.push((acc >> 4) & 255);
      else out.push((acc >> 10) & 255, (acc >> 2) & 255);
      acc = 0;
      n = 0;
    }
  }
  if (n === 2) out.push((acc >> 4) & 255);
  if (n === 3) out.push((acc >> 10) & 255, (acc >> 2) & 255);
  return Uint8Array.from(out);
}

function quotedPrintableBody(binary) {
  let out = '';
  const lines = binary.split('\r\n');
  lines.forEach((rawLine, index) => {
    let line = rawLine.replace(/[ \t]+$/, '');
    const soft = line.endsWith('=');
    if (soft) line = line.slice(0, -1);
    out += line.replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    if (!soft && index < lines.length - 1) out += '\r\n';
  });
  return bytesOf(out);
}

// ---------------------------------------------------------------- §V2.7 text

function normaliseLines(text) {
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let out = '';
  let pending = 0;
  for (const raw of lines) {
    const line = raw.replace(/[ \t]+$/, '');
    if (line === '') {
      pending++;
      continue;
    }
    out += '\n'.repeat(pending) + line + '\n';
    pending = 0;
  }
  return out;
}

// ---------------------------------------------------------------- the form

function lengthPrefixed(bytes) {
  return [...utf8(String(bytes.length)), 0x3a, ...bytes];
}
function record(tag, fields) {
  const out = [...utf8(tag)];
  for (const f of fields) out.push(0x20, ...lengthPrefixed(typeof f === 'string' ? utf8(f) : f));
  out.push(0x0a);
  return out;
}

class TooManyParts extends Error {}

export async function canonicalizeV2(input) {
  // §V2.1
  let raw = binaryString(input);
  if (raw.startsWith('From ') && !/^From [ \t]*:/.test(raw)) {
    const nl = raw.indexOf('\n');
    raw = nl < 0 ? '' : raw.slice(nl + 1);
  }
  const preamble = [...utf8('notary-canonical 2\n')];
  if (raw === '') return { canonical: Uint8Array.from(preamble), parts: [] };
  const m = raw.replace(/\r?\n/g, '\r\n');
  if (m.length > MAX_PREPARED) throw new Error('inputs over 1 GiB are not supported here');
  const unparsed = async () => Uint8Array.from([...preamble, ...record('unparsed', [await sha256Hex(bytesOf(m))])]);

  const records = [];
  const parts = [];
  let headerRecords = [];
  let leaves = 0;

  // A line of [pos, end): [lineEnd, next].
  const lineAt = (pos, end) => {
    const e = m.indexOf('\r\n', pos);
    return e >= 0 && e + 2 <= end ? [e, e + 2] : [end, end];
  };

  // §V2.2: the header block of the entity [start, end) -> {fields, bodyStart}.
  function headerBlock(start, end) {
    const fields = [];
    let pos = start;
    while (pos < end) {
      const [lineEnd, next] = lineAt(pos, end);
      const line = m.slice(pos, lineEnd);
      if (line === '') return { fields, bodyStart: next };
      if (isWsp(line[0])) {
        if (fields.length === 0) return { fields, bodyStart: pos };
        fields[fields.length - 1].raw += line;
      } else {
        const f = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/.exec(line);
        if (!f) return { fields, bodyStart: pos };
        fields.push({ name: f[1], raw: line.slice(f[0].length) });
      }
      pos = next;
    }
    return { fields, bodyStart: end };
  }

  async function entity(start, end, position, top, inDigest, enclosing) {
    const block = headerBlock(start, end);
    const fields = block.fields.map((f) => ({ name: f.name, text: headerText(bytesOf(f.raw)) }));
    if (top) {
      for (const name of HEADER_NAMES) {
        for (const f of fields) {
          if (asciiLower(f.name) === name) {
            headerRecords.push(record('header', [name, collapse(decodeEncodedWords(f.text))]));
          }
        }
      }
    }
    const first = (name) => fields.find((f) => asciiLower(f.name) === name);
    const ctField = first('content-type');
    let ct = ctField ? contentType(ctField.text) : null;
    if (!ct) {
      ct =
        !ctField && inDigest
          ? { type: 'message', subtype: 'rfc822', params: [] }
          : {
              type: 'text',
              subtype: 'plain',
              params: [{ name: 'charset', section: -1, extended: false, value: 'us-ascii' }],
            };
    }
    const bodyStart = block.bodyStart;

    // §V2.5
    if (ct.type === 'multipart') {
      let boundary = parameter(ct.params, 'boundary', false);
      if (boundary !== null) boundary = boundary.replace(/[ \t]+$/, '');
      if (boundary && enclosing < MAX_DEPTH) {
        const pos = top ? '' : position;
        records.push(record('multipart', [pos, `multipart/${ct.subtype}`]));
        const dash = '--' + binaryString(utf8(boundary));
        const delimiters = []; // [lineStart, next, close]
        let p = bodyStart;
        while (p < end) {
          const [lineEnd, next] = lineAt(p, end);
          const line = m.slice(p, lineEnd);
          if (line.startsWith(dash)) {
            const rest = line.slice(dash.length);
            if (/^[ \t]*$/.test(rest)) delimiters.push([p, next, false]);
            else if (/^--[ \t]*$/.test(rest)) {
              delimiters.push([p, next, true]);
              break;
            }
          }
          p = next;
        }
        for (let i = 0; i < delimiters.length; i++) {
          const [, partStart, close] = delimiters[i];
          if (close) break;
          let partEnd = end;
          if (i + 1 < delimiters.length) {
            const nextLine = delimiters[i + 1][0];
            partEnd = nextLine - 2 >= partStart ? nextLine - 2 : partStart;
          }
          const child = pos === '' ? String(i + 1) : `${pos}.${i + 1}`;
          await entity(partStart, partEnd, child, false, ct.subtype === 'digest', enclosing + 1);
        }
        return;
      }
    }

    // A leaf.
    if (++leaves > MAX_PARTS) throw new TooManyParts();
    const pos = top ? '1' : position;
    const body = m.slice(bodyStart, end);
    const cte = first('content-transfer-encoding');
    const mechanism = cte ? transferMechanism(cte.text) : '';
    const content =
      mechanism === 'base64'
        ? base64Body(body)
        : mechanism === 'quoted-printable'
          ? quotedPrintableBody(body)
          : bytesOf(body);

    const charsetValue = parameter(ct.params, 'charset', false);
    const charset = charsetValue === null ? '' : asciiLower(charsetValue.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, ''));
    let disposition = '';
    let dispositionParams = [];
    const cdField = first('content-disposition');
    if (cdField) {
      const cd = contentDisposition(cdField.text);
      if (cd.kind === 'valid' && (cd.type === 'inline' || cd.type === 'attachment')) {
        disposition = cd.type;
      } else if (cd.kind !== 'absent') {
        disposition = 'attachment';
      }
      dispositionParams = cd.params;
    }
    let filename = parameter(dispositionParams, 'filename', true);
    if (!filename) filename = parameter(ct.params, 'name', true);
    filename = filename ?? '';

    const sha256 = await sha256Hex(content);
    let mode = 'bytes';
    let modeCharset = '';
    let digest = sha256;
    if (ct.type === 'text' && filename === '' && disposition !== 'attachment') {
      let text = null;
      if (charset === '') {
        text = isValidUtf8(content) ? decodeWith('utf-8', content) : decodeWith('windows-1252', content);
      } else if (decoderFor(charset)) {
        text = decodeWith(charset, content);
      }
      if (text !== null) {
        mode = 'text';
        digest = await sha256Hex(utf8(normaliseLines(text)));
      } else {
        mode = 'text-raw';
        modeCharset = charset;
        digest = await sha256Hex(bytesOf(normaliseLines(binaryString(content))));
      }
    }
    const contentTypeName = `${ct.type}/${ct.subtype}`;
    records.push(record('part', [pos, contentTypeName, disposition, filename, mode, modeCharset, digest]));
    parts.push({
      position: pos,
      content_type: contentTypeName,
      charset,
      disposition,
      filename,
      size: content.length,
      sha256,
      mode,
      content_sha256: digest,
    });
  }

  try {
    await entity(0, m.length, '', true, false, 0);
  } catch (e) {
    if (e instanceof TooManyParts) return { canonical: await unparsed(), parts: [] };
    throw e;
  }
  return {
    canonical: Uint8Array.from([...preamble, ...headerRecords.flat(), ...records.flat()]),
    parts,
  };
}

// §V2.9: u32 2 || salt || LP(position) || LP(content_type) || LP(charset) ||
// LP(disposition) || LP(filename) || u64 size || sha256.
export function partRecord(part, salt) {
  const out = [0, 0, 0, 2, ...salt];
  const lp = (s) => {
    const b = utf8(s);
    const n = b.length;
    out.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, ...b);
  };
  lp(part.position);
  lp(part.content_type);
  lp(part.charset);
  lp(part.disposition);
  lp(part.filename);
  const size = BigInt(part.size);
  for (let shift = 56n; shift >= 0n; shift -= 8n) out.push(Number((size >> shift) & 255n));
  for (let i = 0; i < 64; i += 2) out.push(parseInt(part.sha256.slice(i, i + 2), 16));
  return Uint8Array.from(out);
}
