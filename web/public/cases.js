// The console's Cases pages (docs/cases.md): the tenant's cases, one case with its messages,
// changes and each message's chain of custody, the export of its production with progress,
// and the search page's "add these results to a case". Every value reaches the page as text
// through the console's h(); the API checks every request again (scope `cases`, and `read` for
// messages, custody and export).

// ui: { h, show, api, t, fmtTime, go, kv, state, ApiError }
export function casesPages(ui) {
  const { h, show, api, t, fmtTime, go, kv } = ui;

  // null when the key may not use cases (403): the pages say so, the search page hides its panel.
  // One page ({items, next}) of the tenant's cases, newest first.
  async function listCases(limit = 1000, next = '') {
    try {
      const q = new URLSearchParams({ limit: String(limit) });
      if (next) q.set('next', next);
      return await api('/v1/cases?' + q.toString());
    } catch (err) {
      if (err instanceof ui.ApiError && err.status === 403) return null;
      throw err;
    }
  }

  // How many rows a list shows at a time: the page's ?limit= (1 to 1000, as the API takes),
  // 100 otherwise.
  function pageSize() {
    const n = Number(new URLSearchParams(location.search).get('limit'));
    return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : 100;
  }

  // "Show more" under a list: loads the page after `next` and appends its rows, until the last
  // page, when the button goes. `load(cursor)` gives {items, next}; `append(items)` adds rows.
  function moreButton(action, next, load, append) {
    const status = h('p', { role: 'alert', class: 'error' });
    const box = h('div', { class: 'buttons more' });
    let cursor = next;
    const button = h(
      'button',
      {
        type: 'button',
        'data-action': action,
        onclick: async () => {
          button.disabled = true;
          try {
            const page = await load(cursor);
            append(page.items);
            cursor = page.next;
            if (!cursor) box.remove();
          } catch (err) {
            status.textContent = t('error', { msg: err.message });
          } finally {
            button.disabled = false;
          }
        },
      },
      t('show_more'),
    );
    box.append(button, status);
    return box;
  }

  function recordText(rec) {
    if (!rec) return '';
    return rec.leaf_index === null || rec.leaf_index === undefined
      ? t('record_pending', { hash: rec.leaf_hash })
      : t('record_sealed', { index: rec.leaf_index, block: rec.block_height, hash: rec.leaf_hash });
  }

  async function renderCases() {
    show(h('h1', {}, t('cases_title')), h('p', {}, t('loading')));
    const first = await listCases(pageSize());
    const items = first === null ? null : first.items;
    if (items === null) {
      show(h('h1', {}, t('cases_title')), h('p', { class: 'note', role: 'status' }, t('cases_no_scope')));
      document.documentElement.dataset.ready = 'cases';
      return;
    }
    const status = h('p', { role: 'alert', class: 'error', id: 'open-case-status' });
    const form = h(
      'form',
      {
        class: 'open-case',
        onsubmit: async (ev) => {
          ev.preventDefault();
          const body = { name: form.elements.name.value.trim() };
          for (const f of ['reference', 'description']) {
            const v = form.elements[f].value.trim();
            if (v) body[f] = v;
          }
          try {
            const c = await api('/v1/cases', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(body),
            });
            go('/cases/' + encodeURIComponent(c.id));
          } catch (err) {
            status.textContent = t('error', { msg: err.message });
          }
        },
      },
      h(
        'div',
        { class: 'grid' },
        field(
          'case-name',
          'name',
          t('case_name'),
          h('input', { id: 'case-name', name: 'name', required: true, maxlength: 200 }),
        ),
        field(
          'case-reference',
          'reference',
          t('case_reference'),
          h('input', { id: 'case-reference', name: 'reference', maxlength: 200 }),
        ),
      ),
      field(
        'case-description',
        'description',
        t('case_description'),
        h('textarea', { id: 'case-description', name: 'description', rows: 3, maxlength: 4000 }),
      ),
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, t('open_case'))),
    );
    const caseRow = (c) =>
      h(
        'tr',
        { dataset: { caseId: c.id } },
        h('td', {}, h('a', { href: '/cases/' + encodeURIComponent(c.id), 'data-nav': true }, c.name)),
        h('td', {}, c.reference),
        h('td', { class: 'num' }, String(c.messages)),
        h('td', {}, fmtTime(c.created_at)),
        h('td', {}, c.created_by),
      );
    const caseRows = h('tbody', {}, items.map(caseRow));
    const table = items.length
      ? h(
          'table',
          { class: 'results cases' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['case_name', 'case_reference', 'case_messages', 'case_opened', 'case_opened_by'].map((col) =>
                h('th', { scope: 'col' }, t(col)),
              ),
            ),
          ),
          caseRows,
        )
      : h('p', {}, t('no_cases'));
    const more = first.next
      ? moreButton(
          'more-cases',
          first.next,
          (cursor) => listCases(pageSize(), cursor),
          (list) => caseRows.append(...list.map(caseRow)),
        )
      : null;
    show(
      h('h1', {}, t('cases_title')),
      h('section', { class: 'case-list' }, h('h2', {}, t('your_cases')), table, more),
      h('section', {}, h('h2', {}, t('open_case')), status, form),
    );
    document.documentElement.dataset.ready = 'cases';
  }

  function field(id, name, label, input) {
    return h('div', { class: 'field' }, h('label', { for: id }, label), input);
  }

  function changesTable(changes) {
    return h(
      'table',
      { class: 'results changes' },
      h('caption', {}, t('case_changes')),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['change_kind', 'change_at', 'change_by', 'change_receipts', 'reason', 'change_query', 'change_record'].map(
            (col) => h('th', { scope: 'col' }, t(col)),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        changes.map((c) =>
          h(
            'tr',
            { dataset: { change: c.change } },
            h('td', {}, t('change_' + c.change)),
            h('td', {}, fmtTime(c.acted_at)),
            h('td', {}, c.actor),
            h('td', { class: 'num' }, String(c.receipts)),
            h('td', {}, c.reason),
            h('td', {}, c.query ? h('code', {}, JSON.stringify(c.query)) : ''),
            h('td', {}, h('code', { class: 'hash' }, recordText(c.record))),
          ),
        ),
      ),
    );
  }

  function custodyTable(custody) {
    return h(
      'table',
      { class: 'results custody', dataset: { receiptId: custody.receipt_id } },
      h('caption', {}, t('custody_of', { id: custody.receipt_id })),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['change_at', 'custody_event', 'change_by', 'custody_detail', 'change_record'].map((col) =>
            h('th', { scope: 'col' }, t(col)),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        custody.events.map((e) =>
          h(
            'tr',
            { dataset: { event: e.event } },
            h('td', {}, fmtTime(e.at)),
            h('td', {}, e.event),
            h('td', {}, e.by || t('custody_notary')),
            h('td', {}, e.detail),
            h('td', {}, e.record ? h('code', { class: 'hash' }, recordText(e.record)) : ''),
          ),
        ),
      ),
    );
  }

  // The export's form, and its progress: the server counts the messages written under a
  // token this page chooses (GET /v1/cases/{id}/export/progress); the browser downloads the
  // zip itself, streamed to disk, once it is built.
  function exportSection(c) {
    const bar = h('progress', { id: 'export-progress', max: 1, value: 0, 'aria-describedby': 'export-status' });
    const status = h('p', { id: 'export-status', role: 'status', 'aria-live': 'polite' });
    const progressBox = h('div', { class: 'export-progress', hidden: true }, bar, status);
    const select = (id, name, label, values) =>
      field(
        id,
        name,
        label,
        h(
          'select',
          { id, name },
          values.map(([v, text]) => h('option', { value: v, selected: v === values[0][0] }, text)),
        ),
      );
    const form = h(
      'form',
      {
        class: 'export',
        onsubmit: (ev) => {
          ev.preventDefault();
          const q = new URLSearchParams();
          for (const name of ['bates_prefix', 'bates_start', 'bates_width', 'custodian', 'lang', 'template']) {
            const v = form.elements[name].value.trim();
            if (v) q.set(name, v);
          }
          const bytes = crypto.getRandomValues(new Uint8Array(16));
          const token = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
          q.set('progress', token);
          const base = '/v1/cases/' + encodeURIComponent(c.id) + '/export';
          const button = form.querySelector('button[type="submit"]');
          button.disabled = true;
          progressBox.hidden = false;
          bar.removeAttribute('value'); // indeterminate until the count is known
          status.textContent = t('export_starting');
          delete form.dataset.state;
          const link = h('a', { href: base + '?' + q.toString(), download: 'case-' + c.id + '.zip', hidden: true });
          document.body.append(link);
          link.click();
          link.remove();
          let unknown = 0;
          const poll = async () => {
            let p;
            try {
              p = await api(base + '/progress?progress=' + token);
            } catch (err) {
              // Not known yet (the request is on its way) or a momentary failure: ask again, for
              // a while. The notary registers the token before any check that can refuse.
              if (err instanceof ui.ApiError && (err.status === 404 || err.status >= 500) && ++unknown < 50) {
                setTimeout(poll, 400);
                return;
              }
              const msg = err instanceof ui.ApiError && err.status === 404 ? t('export_not_started') : err.message;
              status.textContent = t('error', { msg });
              button.disabled = false;
              return;
            }
            if (p.total !== null && p.total !== undefined) {
              bar.max = Math.max(1, p.total);
              bar.value = p.done;
              status.textContent = t('export_progress', { done: p.done, total: p.total });
            }
            if (p.state === 'building') {
              setTimeout(poll, 400);
              return;
            }
            button.disabled = false;
            form.dataset.state = p.state;
            status.textContent =
              p.state === 'ready'
                ? t('export_ready', { total: p.total ?? 0 })
                : t('export_failed', { msg: p.error || '' });
          };
          setTimeout(poll, 200);
        },
      },
      h(
        'div',
        { class: 'grid' },
        field(
          'x-prefix',
          'bates_prefix',
          t('bates_prefix'),
          h('input', { id: 'x-prefix', name: 'bates_prefix', maxlength: 20, spellcheck: 'false' }),
        ),
        field(
          'x-start',
          'bates_start',
          t('bates_start'),
          h('input', { id: 'x-start', name: 'bates_start', type: 'number', min: 0, value: 1 }),
        ),
        field(
          'x-width',
          'bates_width',
          t('bates_width'),
          h('input', { id: 'x-width', name: 'bates_width', type: 'number', min: 1, max: 12, value: 6 }),
        ),
        field(
          'x-custodian',
          'custodian',
          t('custodian'),
          h('input', { id: 'x-custodian', name: 'custodian', maxlength: 200 }),
        ),
        select('x-lang', 'lang', t('export_lang'), [
          [ui.state.lang, ui.state.lang],
          ...['en', 'ko', 'zh'].filter((l) => l !== ui.state.lang).map((l) => [l, l]),
        ]),
        select('x-template', 'template', t('export_template'), [
          ['default', t('template_default')],
          ['us-fre-902', t('template_us')],
          ['kr', t('template_kr')],
          ['cn', t('template_cn')],
        ]),
      ),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', 'data-action': 'export-case' }, t('export_case'))),
    );
    return h(
      'section',
      { class: 'export-section' },
      h('h2', {}, t('export_title')),
      h('p', { class: 'note' }, t('export_note', { n: c.messages })),
      form,
      progressBox,
    );
  }

  async function renderCase(id) {
    show(h('h1', {}, t('cases_title')), h('p', {}, t('loading')));
    const c = await api('/v1/cases/' + encodeURIComponent(id));
    // The case's messages a page at a time, with "Show more" (the search's cursor).
    const messagesPage = (next) => {
      const q = new URLSearchParams({ limit: String(pageSize()), case: id });
      if (next) q.set('next', next);
      return api('/v1/messages?' + q.toString());
    };
    const page = await messagesPage('');
    const custodyBox = h('section', { class: 'custody-box', 'aria-live': 'polite' });
    const removeStatus = h('p', { role: 'alert', class: 'error', id: 'remove-status' });
    const reason = h('input', { id: 'remove-reason', name: 'reason', required: true, maxlength: 4000 });
    const messageRow = (r) => {
      const md = r.metadata || {};
      return h(
        'tr',
        { dataset: { messageId: r.id } },
        h(
          'td',
          {},
          h('input', {
            type: 'checkbox',
            name: 'pick',
            value: r.id,
            'aria-label': t('pick_message', { subject: md.subject || r.id }),
          }),
        ),
        h('td', {}, fmtTime(r.received_at, r.received_at_us)),
        h('td', {}, (Array.isArray(md.from) ? md.from.join(', ') : md.from) || r.envelope_from),
        h('td', {}, h('a', { href: '/messages/' + encodeURIComponent(r.id), 'data-nav': true }, md.subject || '(—)')),
        h('td', {}, h('span', { class: 'status ' + r.status }, t(r.status))),
        h(
          'td',
          {},
          h(
            'button',
            {
              type: 'button',
              'data-action': 'show-custody',
              onclick: async () => {
                custodyBox.replaceChildren(h('p', {}, t('loading')));
                try {
                  const custody = await api(
                    '/v1/cases/' + encodeURIComponent(id) + '/custody?receipt=' + encodeURIComponent(r.id),
                  );
                  custodyBox.replaceChildren(h('h2', {}, t('custody_title')), custodyTable(custody));
                } catch (err) {
                  custodyBox.replaceChildren(
                    h('p', { role: 'alert', class: 'error' }, t('error', { msg: err.message })),
                  );
                }
              },
            },
            t('show_custody'),
          ),
        ),
      );
    };
    const rows = page.items.map(messageRow);
    const messageRows = h('tbody', {}, rows);
    const shown = h('p', { class: 'note', id: 'case-shown' });
    const countShown = () => {
      shown.textContent = t('shown_of', { n: messageRows.children.length, total: c.messages });
    };
    countShown();
    const removeForm = h(
      'form',
      {
        class: 'remove',
        onsubmit: async (ev) => {
          ev.preventDefault();
          const ids = [...messages.querySelectorAll('input[name="pick"]:checked')].map((b) => b.value);
          if (!ids.length) {
            removeStatus.textContent = t('pick_first');
            return;
          }
          try {
            await api('/v1/cases/' + encodeURIComponent(id) + '/messages', {
              method: 'DELETE',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ receipt_ids: ids, reason: reason.value.trim() }),
            });
            await renderCase(id);
          } catch (err) {
            removeStatus.textContent = t('error', { msg: err.message });
          }
        },
      },
      field('remove-reason', 'reason', t('remove_reason'), reason),
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'submit', 'data-action': 'remove-messages' }, t('remove_messages')),
      ),
    );
    const messages = h(
      'section',
      { class: 'case-messages' },
      h('h2', {}, t('case_messages_title', { n: c.messages })),
      h('p', { class: 'note' }, t('add_hint'), ' ', h('a', { href: '/search', 'data-nav': true }, t('nav_search'))),
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
                h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('pick'))),
                ['received', 'from', 'c_subject', 'status'].map((col) => h('th', { scope: 'col' }, t(col))),
                h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('custody_title'))),
              ),
            ),
            messageRows,
          )
        : h('p', {}, t('no_results')),
      rows.length ? shown : null,
      page.next
        ? moreButton('more-messages', page.next, messagesPage, (list) => {
            messageRows.append(...list.map(messageRow));
            countShown();
          })
        : null,
      rows.length ? h('div', {}, removeStatus, removeForm) : null,
    );
    show(
      h('p', {}, h('a', { href: '/cases', 'data-nav': true }, '← ' + t('all_cases'))),
      h('h1', { class: 'case-name' }, c.name),
      kv([
        [t('case_reference'), c.reference],
        [t('case_description'), c.description],
        [t('case_messages'), h('span', { id: 'case-count' }, String(c.messages))],
        [t('case_opened'), fmtTime(c.created_at)],
        [t('case_opened_by'), c.created_by],
        [t('change_record'), h('code', { class: 'hash' }, recordText(c.record))],
      ]),
      c.messages > 0 ? exportSection(c) : null,
      messages,
      custodyBox,
      h('section', {}, changesTable(c.changes || [])),
    );
    document.documentElement.dataset.ready = 'case';
  }

  // Under the search results: add every message the search matches to a chosen case. The
  // change records the search and the ids it found (docs/cases.md).
  async function addToCasePanel(params) {
    // The newest thousand cases (the API's largest page).
    const first = await listCases().catch(() => null);
    const items = first && first.items;
    if (!items || !items.length) return null;
    const status = h('p', { role: 'status', id: 'add-status', 'aria-live': 'polite' });
    const query = {};
    for (const [k, v] of params) if (!['limit', 'next', 'order'].includes(k)) query[k] = v;
    const form = h(
      'form',
      {
        class: 'add-to-case',
        onsubmit: async (ev) => {
          ev.preventDefault();
          const caseId = form.elements.case.value;
          const body = { query };
          const why = form.elements.reason.value.trim();
          if (why) body.reason = why;
          try {
            const r = await api('/v1/cases/' + encodeURIComponent(caseId) + '/messages', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(body),
            });
            status.replaceChildren(
              t('added', { n: r.receipts, total: r.case?.messages ?? '?' }),
              ' ',
              h('a', { href: '/cases/' + encodeURIComponent(caseId), 'data-nav': true }, r.case?.name || caseId),
            );
            form.dataset.state = 'added';
          } catch (err) {
            status.textContent = t('error', { msg: err.message });
            form.dataset.state = 'failed';
          }
        },
      },
      h(
        'div',
        { class: 'grid' },
        field(
          'add-case',
          'case',
          t('add_to'),
          h(
            'select',
            { id: 'add-case', name: 'case' },
            items.map((c) => h('option', { value: c.id }, c.name)),
          ),
        ),
        field(
          'add-reason',
          'reason',
          t('add_reason'),
          h('input', { id: 'add-reason', name: 'reason', maxlength: 4000 }),
        ),
      ),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', 'data-action': 'add-to-case' }, t('add_results'))),
    );
    return h(
      'section',
      { class: 'add-panel' },
      h('h2', {}, t('add_title')),
      h('p', { class: 'note' }, t('add_note')),
      form,
      status,
    );
  }

  return { renderCases, renderCase, addToCasePanel };
}
