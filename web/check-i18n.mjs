// Checks the console's strings (web/public/i18n.js) and the bundle texts' labels
// (web/public/cert_labels.json): every key in every language, the same {placeholders} in
// every translation, and every key the code or the templates use defined. Exit 1 on a
// problem, listing them. Run by web/lint; no dependencies.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC = fileURLToPath(new URL('public/', import.meta.url));
const read = (name) => readFileSync(path.join(PUBLIC, name), 'utf8');
const problems = [];

// Every key of every language in `tables` ({lang: {key: text}}) present in all the others,
// each a non-empty string.
function checkTables(what, tables) {
  const langs = Object.keys(tables);
  const all = new Set(langs.flatMap((l) => Object.keys(tables[l])));
  for (const lang of langs) {
    for (const key of all) {
      const v = tables[lang][key];
      if (v === undefined) problems.push(`${what}: '${key}' missing in ${lang}`);
      else if (typeof v !== 'string' || v === '')
        problems.push(`${what}: '${key}' in ${lang} is not a non-empty string`);
    }
  }
  return all;
}

// ---------- the console: i18n.js ----------
// i18n.js keeps its table private; import it again with one more export rather than widen
// the console's API for a check.
const i18nSource = read('i18n.js');
const i18n = await import(
  'data:text/javascript;base64,' + Buffer.from(i18nSource + '\nexport { S as TABLES };\n').toString('base64')
);
const consoleKeys = checkTables('i18n.js', i18n.TABLES);
const langCodes = i18n.LANGS.map(([code]) => code);
for (const code of langCodes) {
  if (!i18n.TABLES[code]) problems.push(`i18n.js: LANGS offers '${code}', which has no table`);
}
for (const code of Object.keys(i18n.TABLES)) {
  if (!langCodes.includes(code)) problems.push(`i18n.js: table '${code}' is not offered in LANGS`);
}
// translator() fills {name} in; a translation that drops or misspells one shows it raw.
const placeholders = (s) =>
  [...String(s).matchAll(/\{(\w+)\}/g)]
    .map((m) => m[1])
    .sort()
    .join(',');
for (const key of consoleKeys) {
  const codes = Object.keys(i18n.TABLES).filter((code) => key in i18n.TABLES[code]);
  const want = placeholders(i18n.TABLES[codes[0]][key]);
  for (const code of codes.slice(1)) {
    const got = placeholders(i18n.TABLES[code][key]);
    if (got !== want)
      problems.push(`i18n.js: '${key}' in ${code} has placeholders {${got}}, ${codes[0]} has {${want}}`);
  }
}

// Calls t(...) whose argument is not a string literal, by their argument (spaces removed),
// with the keys each can take. A new or changed one fails the check until it is listed here.
const FIELDS_OF = (source) => {
  const block = /const FIELDS = \[([\s\S]*?)\n\];/.exec(source);
  return block ? [...block[1].matchAll(/\[\s*'([^']+)'\s*,/g)].map((m) => m[1]) : [];
};
const DYNAMIC = {
  name: FIELDS_OF, // the search form's fields
  "s||'any'": ['any', 'pending', 'sealed'], // status filter
  'r.status': ['pending', 'sealed', 'erased'], // message status from the API
  "{to:'c_to',subject:'c_subject'}[c]||c": ['received', 'from', 'c_to', 'c_subject', 'attachments', 'status'],
  c: ['position', 'type', 'name', 'size'], // part table headings
  'c.status': ['PASS', 'FAIL', 'SKIP'], // verify.js check results
  // sender checks (app.js senderSection): result names and DNSSEC states from the API
  "'auth_'+x": ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'].map((r) => 'auth_' + r),
  "'dnssec_'+d.key_dnssec": ['secure', 'insecure', 'bogus', 'indeterminate'].map((s) => 'dnssec_' + s),
  // cases.js: table headings, and a case change's kind from the API
  col: [
    'case_name',
    'case_reference',
    'case_messages',
    'case_opened',
    'case_opened_by',
    'change_kind',
    'change_at',
    'change_by',
    'change_receipts',
    'reason',
    'change_query',
    'change_record',
    'custody_event',
    'custody_detail',
    'received',
    'from',
    'c_subject',
    'status',
  ],
  "'change_'+c.change": ['change_add', 'change_remove'],
};

// The argument of the call whose '(' is at `open`: source text up to the matching ')'.
function argumentAt(source, open) {
  let depth = 0;
  let quote = null;
  for (let i = open; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (--depth === 0) return source.slice(open + 1, i);
    } else if (c === ',' && depth === 1) return source.slice(open + 1, i);
  }
  return null;
}

const CONSOLE_MODULES = ['cases.js'];
const used = new Set();
const modules = readdirSync(PUBLIC).filter((f) => f.endsWith('.js'));
for (const file of modules) {
  const source = read(file);
  // The console's modules: those that import the strings, and those handed its t (cases.js).
  if (!/from '\.\/i18n\.js'/.test(source) && !CONSOLE_MODULES.includes(file)) continue;
  // t( not preceded by a name character or '.': the console's t, not state.t or a method.
  for (const m of source.matchAll(/(?<![\w$.])t\(/g)) {
    const line = source.slice(0, m.index).split('\n').length;
    const arg = argumentAt(source, m.index + 1);
    const literal = arg === null ? null : /^\s*(['"])([^'"\\]*)\1\s*$/.exec(arg);
    if (literal) {
      used.add(literal[2]);
      if (!consoleKeys.has(literal[2])) problems.push(`${file}:${line}: t('${literal[2]}') is not defined in i18n.js`);
      continue;
    }
    const known = arg === null ? undefined : DYNAMIC[arg.replace(/\s+/g, '')];
    if (!known) {
      problems.push(`${file}:${line}: t(${arg}): list the keys it can take in DYNAMIC in web/check-i18n.mjs`);
      continue;
    }
    const keys = typeof known === 'function' ? known(source) : known;
    if (!keys.length) problems.push(`${file}:${line}: t(${arg}): no keys found for it`);
    for (const key of keys) {
      used.add(key);
      if (!consoleKeys.has(key))
        problems.push(`${file}:${line}: t(${arg}) can ask for '${key}', not defined in i18n.js`);
    }
  }
}
const unused = [...consoleKeys].filter((k) => !used.has(k));

// ---------- the bundle texts: cert_labels.json and the templates ----------
const labels = JSON.parse(read('cert_labels.json'));
const labelKeys = checkTables('cert_labels.json', labels);
// The console asks for evidence bundles in its own language.
for (const code of langCodes) {
  if (!labels[code]) problems.push(`cert_labels.json: no labels for the console's language '${code}'`);
}
for (const file of ['cert_template.html', 'cert_template_v1.html', 'verify_template.md']) {
  const source = read(file);
  for (const m of source.matchAll(/\{\{[#^/&]?l\.([a-z0-9_]+)\}\}/g)) {
    const line = source.slice(0, m.index).split('\n').length;
    if (!labelKeys.has(m[1])) problems.push(`${file}:${line}: l.${m[1]} is not defined in cert_labels.json`);
  }
}

if (unused.length) console.log(`i18n.js: defined but not used by the console: ${unused.join(', ')}`);
if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`check-i18n: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(
  `check-i18n: ${consoleKeys.size} console keys and ${labelKeys.size} labels in ${langCodes.join(', ')}, all present`,
);
