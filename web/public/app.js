// The notary web console: sign-in, search, message view, cases (cases.js) and the in-browser
// bundle verifier.
// Every message-derived value reaches the page through text nodes (h() below), never HTML.
import { LANGS, pickLang, translator } from './i18n.js';
import { checkCosignatures, formatUtcMicros, parseWitnessKey, readZip, verifyBundle } from './verify.js';
import { casesPages } from './cases.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const state = { session: null, lang: 'en', t: translator('en'), cursors: [] };

// ---------- DOM ----------
// Unicode's bidirectional controls (UAX #9) reorder the text around them: a file name
// "invoice" U+202E "fdp.exe" would read as "invoiceexe.pdf". Every text shown is marked
// instead: the control becomes a visible "[U+202E]", as on the certificate.
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
export function markBidi(s) {
  return s.replace(BIDI, (c) => '[U+' + c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0') + ']');
}
function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(markBidi(String(k))));
  }
  return el;
}
function show(...nodes) {
  main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  const h1 = main.querySelector('h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
  }
}
const t = (k, v) => state.t(k, v);

function fmtTime(iso, us) {
  const d = us !== undefined && us !== null ? new Date(Number(us) / 1000) : new Date(iso);
  if (isNaN(d)) return String(iso ?? '');
  if (!fmtTime.cache || fmtTime.cache.lang !== state.lang) {
    fmtTime.cache = {
      lang: state.lang,
      f: new Intl.DateTimeFormat(state.lang, { dateStyle: 'medium', timeStyle: 'medium' }),
    };
  }
  const local = fmtTime.cache.f.format(d);
  return h(
    'time',
    { datetime: d.toISOString() },
    local,
    h(
      'span',
      { class: 'utc' },
      ' (' +
        d
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, 'Z')
          .replace('Z', ' ' + t('utc')) +
        ')',
    ),
  );
}
function copyButton(value, what) {
  return h(
    'button',
    {
      type: 'button',
      class: 'copy',
      'aria-label': t('copy_label', { what }),
      onclick: async (ev) => {
        const b = ev.currentTarget;
        try {
          await navigator.clipboard.writeText(value);
        } catch {
          /* clipboard denied */
        }
        b.textContent = t('copied');
        setTimeout(() => {
          b.textContent = t('copy');
        }, 1500);
      },
    },
    t('copy'),
  );
}
function hashRow(label, value) {
  return h(
    'tr',
    {},
    h('th', { scope: 'row' }, label),
    h('td', {}, h('code', { class: 'hash' }, value), ' ', copyButton(value, label)),
  );
}
function list(v) {
  return Array.isArray(v) ? v.join(', ') : v || '';
}
function kv(rows) {
  return h(
    'table',
    { class: 'kv' },
    h(
      'tbody',
      {},
      rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v ?? ''))),
    ),
  );
}

// ---------- API ----------
class SessionEnded extends Error {}
// A refusal by the API, with its HTTP status.
class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}
async function api(path, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  if (opts.method && opts.method !== 'GET' && state.session) headers['X-CSRF-Token'] = state.session.csrf_token;
  const res = await fetch(path, { credentials: 'same-origin', ...opts, headers });
  const body = await res.json().catch(() => null);
  if (res.status === 401 && state.session) {
    state.session = null;
    renderNav();
    throw new SessionEnded(t('session_ended'));
  }
  if (!res.ok) throw new ApiError(body?.error?.message || res.statusText || String(res.status), res.status);
  return body;
}

const cases = casesPages({ h, show, api, t, fmtTime, go, kv, state, ApiError });

// ---------- navigation ----------
function go(url, replace = false) {
  history[replace ? 'replaceState' : 'pushState']({}, '', url);
  route();
}
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-nav]');
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', () => route());

function renderNav() {
  document.documentElement.lang = state.lang;
  document.title = t('title');
  document.getElementById('brand').textContent = t('title');
  document.getElementById('skip').textContent = t('skip');
  const select = h(
    'select',
    {
      id: 'lang',
      name: 'lang',
      onchange: (ev) => {
        state.lang = ev.target.value;
        try {
          localStorage.setItem('lang', state.lang);
        } catch {
          /* private mode */
        }
        state.t = translator(state.lang);
        renderNav();
        route();
      },
    },
    LANGS.map(([code, name]) => h('option', { value: code, selected: code === state.lang, lang: code }, name)),
  );
  const items = [
    h('a', { href: '/search', 'data-nav': true }, t('nav_search')),
    state.session ? h('a', { href: '/cases', 'data-nav': true }, t('nav_cases')) : null,
    h('a', { href: '/verify', 'data-nav': true }, t('nav_verify')),
    h('label', { for: 'lang', class: 'lang' }, t('language')),
    select,
  ];
  if (state.session) {
    items.push(
      h('span', { class: 'who' }, t('signed_in_as', { tenant: state.session.tenant, key: state.session.key_id })),
      h('button', { type: 'button', 'data-action': 'sign-out', onclick: signOut }, t('sign_out')),
    );
  }
  nav.replaceChildren(...items.filter(Boolean));
}

async function signOut() {
  try {
    await api('/v1/session', { method: 'DELETE' });
  } catch {
    /* ended already */
  }
  state.session = null;
  state.cursors = [];
  renderNav();
  go('/', true);
}

async function route() {
  const path = location.pathname;
  try {
    if (path === '/verify') return renderVerify();
    if (!state.session) return renderSignIn();
    const m = /^\/messages\/([^/]+)$/.exec(path);
    if (m) return await renderMessage(decodeURIComponent(m[1]));
    if (path === '/cases') return await cases.renderCases();
    const c = /^\/cases\/([^/]+)$/.exec(path);
    if (c) return await cases.renderCase(decodeURIComponent(c[1]));
    return await renderSearch();
  } catch (err) {
    if (err instanceof SessionEnded) return renderSignIn(err.message);
    show(h('h1', {}, t('title')), h('p', { role: 'alert', class: 'error' }, t('error', { msg: err.message })));
  }
}

// ---------- sign-in ----------
function renderSignIn(notice) {
  const status = h('p', { role: 'alert', class: 'error', id: 'signin-status' }, notice || '');
  const input = h('input', {
    id: 'api_key',
    name: 'api_key',
    type: 'password',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
    'aria-describedby': 'signin-help',
  });
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const key = input.value.trim();
        input.value = ''; // the key does not stay in the page
        try {
          const res = await fetch('/v1/session', {
            method: 'POST',
            credentials: 'same-origin',
            headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
            body: JSON.stringify({ api_key: key }),
          });
          const body = await res.json().catch(() => null);
          if (!res.ok) throw new Error(body?.error?.message || String(res.status));
          state.session = body;
          renderNav();
          go(location.pathname === '/' ? '/search' : location.pathname + location.search, true);
        } catch (err) {
          status.textContent = t('signin_failed', { msg: err.message });
        }
      },
    },
    h('label', { for: 'api_key' }, t('api_key')),
    input,
    h('p', { id: 'signin-help', class: 'help' }, t('signin_help')),
    h('button', { type: 'submit' }, t('signin')),
  );
  show(h('h1', {}, t('signin_title')), status, form);
  document.documentElement.dataset.ready = 'signin';
}

// ---------- search ----------
const FIELDS = [
  ['message_id', 'text'],
  ['from', 'text'],
  ['to', 'text'],
  ['subject', 'text'],
  ['since', 'datetime-local'],
  ['until', 'datetime-local'],
  ['sha256', 'text'],
  ['attachment_sha256', 'text'],
  ['attachment_name', 'text'],
];
function toLocalInput(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

async function renderSearch() {
  const params = new URLSearchParams(location.search);
  const form = h('form', {
    class: 'search',
    role: 'search',
    onsubmit: (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const [name, type] of FIELDS) {
        const v = form.elements[name].value.trim();
        if (!v) continue;
        q.set(name, type === 'datetime-local' ? new Date(v).toISOString() : v);
      }
      if (form.elements.status.value) q.set('status', form.elements.status.value);
      q.set('limit', form.elements.limit.value);
      state.cursors = [];
      go('/search?' + q.toString());
    },
  });
  const grid = h('div', { class: 'grid' });
  for (const [name, type] of FIELDS) {
    const v = params.get(name) || '';
    grid.append(
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'f-' + name }, t(name)),
        h('input', {
          id: 'f-' + name,
          name,
          type,
          value: type === 'datetime-local' ? toLocalInput(v) : v,
          spellcheck: 'false',
        }),
      ),
    );
  }
  grid.append(
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'f-status' }, t('status')),
      h(
        'select',
        { id: 'f-status', name: 'status' },
        ['', 'pending', 'sealed'].map((s) =>
          h('option', { value: s, selected: (params.get('status') || '') === s }, t(s || 'any')),
        ),
      ),
    ),
  );
  grid.append(
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'f-limit' }, t('limit')),
      h(
        'select',
        { id: 'f-limit', name: 'limit' },
        ['25', '50', '100', '1000'].map((s) =>
          h('option', { value: s, selected: (params.get('limit') || '50') === s }, s),
        ),
      ),
    ),
  );
  form.append(
    grid,
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit' }, t('search')),
      h('a', { href: '/search', 'data-nav': true, class: 'button-link' }, t('clear')),
    ),
  );

  const results = h('section', { 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', {}, t('loading')));
  show(h('h1', {}, t('search_title')), form, results);

  const q = new URLSearchParams(params);
  if (!q.has('limit')) q.set('limit', '50');
  performance.mark('search-request');
  const page = await api('/v1/messages?' + q.toString());
  performance.mark('search-data');
  const rows = page.items.map((r) => {
    const md = r.metadata || {};
    return h(
      'tr',
      { dataset: { messageId: r.id } },
      h('td', {}, fmtTime(r.received_at, r.received_at_us)),
      h('td', {}, list(md.from) || r.envelope_from),
      h('td', {}, list(md.to) || (r.envelope_to || []).join(', ')),
      h('td', {}, h('a', { href: '/messages/' + encodeURIComponent(r.id), 'data-nav': true }, md.subject || '(—)')),
      h('td', {}, (md.attachment_names || []).join(', ')),
      h('td', {}, h('span', { class: 'status ' + r.status }, t(r.status))),
    );
  });
  const pager = h('div', { class: 'pager' });
  const pageNo = state.cursors.length + 1;
  if (state.cursors.length) {
    pager.append(
      h(
        'button',
        {
          type: 'button',
          'data-action': 'prev-page',
          onclick: () => {
            state.cursors.pop();
            const q2 = new URLSearchParams(location.search);
            const prev = state.cursors.pop();
            if (prev) {
              q2.set('next', prev);
              state.cursors.push(prev);
            } else q2.delete('next');
            history.replaceState({}, '', '/search?' + q2.toString());
            route();
          },
        },
        t('prev_page'),
      ),
    );
  }
  pager.append(h('span', {}, t('page', { n: pageNo }) + ' · ' + t('rows', { n: page.items.length })));
  if (page.next) {
    pager.append(
      h(
        'button',
        {
          type: 'button',
          'data-action': 'next-page',
          onclick: () => {
            const q2 = new URLSearchParams(location.search);
            q2.set('next', page.next);
            state.cursors.push(page.next);
            history.replaceState({}, '', '/search?' + q2.toString());
            route();
          },
        },
        t('next_page'),
      ),
    );
  }
  results.replaceChildren(
    h('h2', {}, t('results')),
    rows.length
      ? h(
          'table',
          { class: 'results' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['received', 'from', 'to', 'subject', 'attachments', 'status'].map((c) =>
                h('th', { scope: 'col' }, t({ to: 'c_to', subject: 'c_subject' }[c] || c)),
              ),
            ),
          ),
          h('tbody', {}, rows),
        )
      : h('p', {}, t('no_results')),
    pager,
  );
  if (rows.length) {
    const panel = await cases.addToCasePanel(params);
    if (panel) results.append(panel);
  }
  results.setAttribute('aria-busy', 'false');
  document.documentElement.dataset.ready = 'search';
}

// ---------- message ----------
// The sender checks of a message (GET /v1/messages/{id} `authentication`, docs/sender-evidence.md
// §6): a section when the message was checked, nothing otherwise.
const AUTH_RESULTS = ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'];
const DNSSEC_STATES = ['secure', 'insecure', 'bogus', 'indeterminate'];
function senderSection(a) {
  if (!a) return null;
  const verdict = (x) => (AUTH_RESULTS.includes(x) ? t('auth_' + x) : x);
  const rows = (a.dkim || []).map((d) => [
    'DKIM d=' + d.domain,
    verdict(d.result) +
      ' — ' +
      t('auth_key') +
      ' ' +
      d.key_record +
      (DNSSEC_STATES.includes(d.key_dnssec) ? ' · ' + t('dnssec_' + d.key_dnssec) : '') +
      (d.result !== 'pass' && d.reason ? ' (' + d.reason + ')' : ''),
  ]);
  if (!rows.length) rows.push(['DKIM', t('auth_no_signature')]);
  if (a.spf) rows.push(['SPF', verdict(a.spf.result) + ' — ' + a.spf.domain + ', ' + a.spf.client_ip]);
  if (a.dmarc) {
    rows.push([
      'DMARC',
      verdict(a.dmarc.result) +
        ' — ' +
        a.dmarc.domain +
        (a.dmarc.policy ? ', ' + t('auth_policy') + ' ' + a.dmarc.policy : ''),
    ]);
  }
  if (a.arc) {
    const first = a.arc.sets[0];
    rows.push([
      'ARC',
      verdict(a.arc.result) +
        ' — ' +
        a.arc.sets.length +
        ' ' +
        t('auth_arc_hops') +
        // The first intermediary's words only when the chain holds; else why not.
        (a.arc.result === 'pass' && first
          ? ', ' +
            t('auth_arc_first') +
            ' d=' +
            first.seal_domain +
            (first.auth_results ? ': ' + first.auth_results : '')
          : a.arc.reason
            ? ' (' + a.arc.reason + ')'
            : ''),
    ]);
  }
  rows.push([
    t('auth_checked_at'),
    fmtTime(a.checked_at) + (a.status === 'sealed' ? '' : ' (' + t('auth_pending') + ')'),
  ]);
  return h(
    'section',
    { dataset: { section: 'sender' } },
    h('h2', {}, t('sender_section')),
    kv(rows),
    h('p', { class: 'note' }, t('sender_note')),
  );
}

async function renderMessage(id) {
  show(h('h1', {}, t('message_title')), h('p', {}, t('loading')));
  const r = await api('/v1/messages/' + encodeURIComponent(id));
  let block = null;
  if (r.block_height !== null && r.block_height !== undefined) {
    block = await fetch('/v1/blocks/' + r.block_height, { credentials: 'same-origin' })
      .then((res) => (res.ok ? res.json() : null))
      .catch(() => null);
  }
  const md = r.metadata || {};
  const lang = state.lang;
  // wait: a sealed message's bundle may still wait a moment for its sender checks (409).
  // With certificate.pdf, the operator's signed copy of certificate.html (evidence-bundle.md §7a).
  const evidence = '/v1/messages/' + encodeURIComponent(r.id) + '/evidence?wait=30&certificate=pdf&lang=' + lang;
  const sealed = r.status === 'sealed';
  const erasure = r.erasure;
  // An erased message's bundle holds its hashes, proofs and sealed erasure record, and still
  // matches a copy of the original (docs/evidence-bundle.md §6a).
  const downloads = erasure
    ? h(
        'div',
        {},
        h(
          'p',
          { class: 'note', dataset: { erased: 'true' } },
          t('erased_note', { when: fmtTime(erasure.erased_at), by: erasure.erased_by, reason: erasure.reason }),
        ),
        h(
          'p',
          { class: 'buttons' },
          h(
            'a',
            {
              href: evidence,
              download: 'evidence-' + r.id + '.zip',
              class: 'button-link',
              'data-action': 'download-erased-evidence',
            },
            t('download_erased'),
          ),
        ),
      )
    : sealed
      ? h(
          'p',
          { class: 'buttons' },
          h(
            'a',
            {
              href: evidence,
              download: 'evidence-' + r.id + '.zip',
              class: 'button-link primary',
              'data-action': 'download-evidence',
            },
            t('download'),
          ),
        )
      : h('p', { class: 'note' }, t('not_sealed'));

  const parts = h(
    'table',
    { class: 'parts' },
    h('caption', {}, t('parts')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['position', 'type', 'name', 'size', 'SHA-256', ''].map((c, i) =>
          h('th', { scope: 'col' }, i === 4 ? c : c ? t(c) : h('span', { class: 'sr-only' }, t('download_part'))),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      (r.parts || []).map((p) =>
        h(
          'tr',
          { dataset: { position: p.position } },
          h('td', {}, p.position),
          h('td', {}, p.content_type + (p.charset ? '; ' + p.charset : '')),
          h('td', {}, p.filename),
          h('td', {}, t('bytes', { n: Number(p.size).toLocaleString(lang) })),
          h('td', {}, h('code', { class: 'hash' }, p.sha256), ' ', copyButton(p.sha256, 'SHA-256 ' + p.position)),
          h(
            'td',
            {},
            sealed && (p.filename || p.disposition === 'attachment')
              ? h(
                  'a',
                  {
                    href:
                      '/v1/messages/' +
                      encodeURIComponent(r.id) +
                      '/evidence?part=' +
                      encodeURIComponent(p.position) +
                      '&certificate=pdf&lang=' +
                      lang,
                    download: 'evidence-' + r.id + '-part-' + p.position + '.zip',
                    'data-action': 'download-part-evidence',
                  },
                  t('download_part'),
                )
              : '',
          ),
        ),
      ),
    ),
  );

  const stamps =
    block && block.timestamps && block.timestamps.length
      ? h(
          'table',
          { class: 'stamps' },
          h('caption', {}, t('timestamps')),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, t('tsa')),
              h('th', { scope: 'col' }, t('gen_time')),
              h('th', { scope: 'col' }, t('status')),
            ),
          ),
          h(
            'tbody',
            {},
            block.timestamps.map((s) =>
              h(
                'tr',
                {},
                h('td', {}, s.tsa),
                h('td', {}, s.gen_time ? fmtTime(s.gen_time) : '—'),
                h('td', {}, s.status),
              ),
            ),
          ),
        )
      : null;

  show(
    h(
      'p',
      {},
      h(
        'a',
        {
          href: '/search',
          'data-nav': true,
          onclick: (ev) => {
            if (history.length > 1) {
              ev.preventDefault();
              ev.stopPropagation();
              history.back();
            }
          },
        },
        '← ' + t('back'),
      ),
    ),
    h('h1', { class: 'subject' }, md.subject || '(—)'),
    h(
      'p',
      {},
      h('span', { class: 'status ' + r.status }, t(r.status)),
      ' · ',
      t('receipt'),
      ' ',
      h('code', {}, r.id),
      ' · ',
      t('received'),
      ': ',
      fmtTime(r.received_at, r.received_at_us),
    ),
    downloads,
    h(
      'section',
      {},
      h('h2', {}, t('envelope')),
      kv([
        [t('mail_from'), r.envelope_from || '<>'],
        [t('recipients'), (r.envelope_to || []).join(', ')],
        [t('client'), `${r.client_ip}:${r.client_port}` + (r.client_name ? ` (${r.client_name})` : '')],
        [t('helo'), r.helo],
        [t('tls'), r.tls_protocol ? `${r.tls_protocol} ${r.tls_cipher}` : t('no_tls')],
      ]),
    ),
    h(
      'section',
      {},
      h('h2', {}, t('headers')),
      kv(
        [
          [t('from'), md.from],
          [t('sender'), md.sender],
          [t('reply_to'), md.reply_to],
          [t('h_to'), md.to],
          [t('cc'), md.cc],
          [t('h_subject'), md.subject],
          [t('date'), md.date],
          ['Message-ID', md.message_id],
          [t('in_reply_to'), md.in_reply_to],
        ]
          .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])
          .filter(([, v]) => v),
      ),
    ),
    senderSection(r.authentication),
    h('section', {}, parts),
    h(
      'section',
      {},
      h('h2', {}, t('hashes')),
      h(
        'table',
        { class: 'kv' },
        h(
          'tbody',
          {},
          hashRow(t('raw_sha256'), r.raw_sha256),
          hashRow(t('canonical_sha256'), r.canonical_sha256),
          hashRow(t('parts_root'), r.parts_root),
        ),
      ),
    ),
    h(
      'section',
      {},
      h('h2', {}, t('seal')),
      sealed
        ? kv([
            [t('leaf_index'), String(r.leaf_index)],
            [t('block_height'), String(r.block_height)],
            [t('sealed_at'), block ? fmtTime(block.sealed_at, block.sealed_at_us) : '—'],
            [
              t('block_hash'),
              block
                ? h(
                    'span',
                    {},
                    h('code', { class: 'hash' }, block.block_hash),
                    ' ',
                    copyButton(block.block_hash, t('block_hash')),
                  )
                : '—',
            ],
          ])
        : h('p', {}, t('not_sealed')),
      stamps,
    ),
  );
  document.documentElement.dataset.ready = 'message';
}

// ---------- verify (no sign-in) ----------
function renderVerify() {
  const out = h('section', { id: 'verify-result', 'aria-live': 'polite' });
  const input = h('input', { id: 'bundle', name: 'bundle', type: 'file', accept: '.zip,application/zip' });
  const witnessInput = h('textarea', { id: 'witness-keys', name: 'witness-keys', rows: '2', spellcheck: 'false' });
  // The checkpoint's witness cosignature lines: unchecked, unless a key pasted for that witness
  // verifies them (notary-verify --witness is the complete check: check 22).
  const cosignatureTable = async (note) => {
    const keys = [];
    const problems = [];
    for (const line of witnessInput.value.split('\n')) {
      if (!line.trim()) continue;
      try {
        keys.push(await parseWitnessKey(line));
      } catch (err) {
        problems.push(h('p', { class: 'note' }, t('witness_key_bad', { msg: err.message })));
      }
    }
    const rows = await checkCosignatures(note, keys);
    if (!rows.length) return problems;
    const label = { verified: t('cosig_verified'), invalid: t('cosig_invalid'), unchecked: t('cosig_unchecked') };
    return [
      ...problems,
      h(
        'table',
        { class: 'cosignatures' },
        h('caption', {}, t('cosignatures')),
        h(
          'tbody',
          {},
          rows.map((r) =>
            h(
              'tr',
              { dataset: { witness: r.name, status: r.status } },
              h('td', {}, r.name, ' ', h('code', {}, r.keyId)),
              h(
                'td',
                {},
                // The time as the line claims it; beyond year 9999 it is not shown.
                r.timeUs === null || r.timeUs > 253402300799e6 ? '—' : formatUtcMicros(r.timeUs) + ' ' + t('utc'),
              ),
              h('td', {}, label[r.status]),
            ),
          ),
        ),
      ),
    ];
  };
  const run = async (file) => {
    out.replaceChildren(h('p', {}, t('checking')));
    const started = performance.now();
    let report;
    try {
      const files = await readZip(new Uint8Array(await file.arrayBuffer()));
      let trusted = null;
      try {
        const keys = await fetch('/v1/keys').then((r) => (r.ok ? r.json() : null));
        if (keys && Array.isArray(keys.keys)) {
          trusted = keys.keys.map((k) => ({ fingerprint: k.fingerprint_sha256, public_key_pem: k.public_key_pem }));
        }
      } catch {
        /* offline copy of the page: keys are self-declared */
      }
      report = await verifyBundle(files, trusted);
    } catch (err) {
      out.replaceChildren(
        h(
          'p',
          { 'data-verdict': 'invalid', class: 'verdict invalid', role: 'status' },
          t('unreadable', { msg: err.message }),
        ),
      );
      return;
    }
    const ms = performance.now() - started;
    const verdict = h(
      'p',
      {
        'data-verdict': report.valid ? 'valid' : 'invalid',
        role: 'status',
        class: 'verdict ' + (report.valid ? 'valid' : 'invalid'),
        dataset: { ms: ms.toFixed(1) },
      },
      report.valid ? t('verdict_valid') : t('verdict_invalid', { ids: report.failed.join(', ') }),
    );
    const keyLine = report.keyFingerprint
      ? h(
          'p',
          { class: 'key' },
          t('key_fp') + ': ',
          h('code', { class: 'hash' }, report.keyFingerprint),
          ' — ',
          report.keySelfDeclared ? t('key_unknown') : t('key_published'),
        )
      : h(
          'p',
          { class: 'key' },
          t('key_fp') + ': — ',
          report.keySelfDeclared ? t('key_unknown') : t('key_not_published'),
        );
    const cosignatures = await cosignatureTable(report.checkpointNote).catch(() => []);
    out.replaceChildren(
      verdict,
      keyLine,
      ...(report.certificatePdf
        ? [h('p', { class: 'note', dataset: { certificatePdf: 'unchecked' } }, t('certificate_pdf'))]
        : []),
      ...cosignatures,
      h(
        'table',
        { class: 'checks' },
        h('caption', {}, t('receipt') + ' ' + report.receiptId),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, '#'),
            h('th', { scope: 'col' }, t('check')),
            h('th', { scope: 'col' }, t('result')),
            h('th', { scope: 'col' }, t('reason')),
          ),
        ),
        h(
          'tbody',
          {},
          report.checks.map((c, i) =>
            h(
              'tr',
              { dataset: { check: c.id, status: c.status } },
              h('td', {}, String(i + 1)),
              h('td', {}, h('code', {}, c.id), ' ', c.name),
              h(
                'td',
                {},
                h('span', { class: 'result ' + c.status }, c.status + (state.lang === 'en' ? '' : ' · ' + t(c.status))),
              ),
              h('td', { class: 'reason' }, c.reason),
            ),
          ),
        ),
      ),
    );
  };
  input.addEventListener('change', () => {
    if (input.files[0]) run(input.files[0]);
  });
  const drop = h(
    'div',
    { class: 'drop' },
    h('label', { for: 'bundle' }, t('bundle')),
    input,
    h('p', { class: 'help' }, t('drop')),
  );
  const witnesses = h(
    'div',
    { class: 'witness-keys' },
    h('label', { for: 'witness-keys' }, t('witness_keys')),
    witnessInput,
    h('p', { class: 'help' }, t('witness_keys_help')),
  );
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer.files[0]) run(ev.dataTransfer.files[0]);
  });
  show(
    h('h1', {}, t('verify_title')),
    h('p', {}, t('verify_intro')),
    h('p', { class: 'note' }, t('verify_scope')),
    drop,
    witnesses,
    out,
  );
  document.documentElement.dataset.ready = 'verify';
}

// ---------- start ----------
async function start() {
  let stored = null;
  try {
    stored = localStorage.getItem('lang');
  } catch {
    /* private mode */
  }
  state.lang = pickLang(stored, navigator.languages);
  state.t = translator(state.lang);
  try {
    const res = await fetch('/v1/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    state.session = res.ok ? await res.json() : null;
  } catch {
    state.session = null;
  }
  renderNav();
  await route();
}
start();
