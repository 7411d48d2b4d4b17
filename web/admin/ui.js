// DOM helpers for the console: elements without innerHTML (no markup from
// data ever reaches the parser), times, notices and the confirmation dialog.

/** Creates `<tag>` with attributes (`on*` functions become listeners) and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  for (const c of children.flat(Infinity)) if (c) el.append(c);
}

/** A Unix time (seconds) as local date and time, or a dash. */
export function time(secs) {
  if (secs === undefined || secs === null) return '—';
  const d = new Date(secs * 1000);
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, d.toLocaleString());
}

/** A duration in seconds, roughly: "3 d", "5 h", "12 min". */
export function age(secs) {
  if (secs === undefined || secs === null) return '—';
  if (secs >= 86400) return `${Math.floor(secs / 86400)} d`;
  if (secs >= 3600) return `${Math.floor(secs / 3600)} h`;
  if (secs >= 60) return `${Math.floor(secs / 60)} min`;
  return `${Math.floor(secs)} s`;
}

/** A table with a header row; `rows` are arrays of cells (or `<tr>`s). */
export function table(headers, rows, attrs = {}) {
  return h(
    'table',
    attrs,
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h(
      'tbody',
      {},
      rows.length === 0
        ? h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'Nothing here.'))
        : rows.map((r) => (r instanceof Node ? r : h('tr', {}, r.map((c) => h('td', {}, c))))),
    ),
  );
}

let noticeTimer;
/** A short status line at the top; `kind` is 'ok' or 'bad'. */
export function notice(text, kind = 'ok') {
  const el = document.getElementById('notice');
  el.textContent = text;
  el.className = `notice ${kind}`;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (el.hidden = true), kind === 'bad' ? 12000 : 5000);
}

/** Runs `fn`, reporting its error (or `done`) as a notice; resolves to its result. */
export async function act(fn, done) {
  try {
    const out = await fn();
    if (done) notice(done, 'ok');
    return out;
  } catch (e) {
    notice(e.message ?? String(e), 'bad');
    return undefined;
  }
}

/**
 * Asks for confirmation in a modal dialog; with `expect`, the admin must
 * type it (a user's email, a client id) first. Resolves to true or false.
 */
export function confirmAction(text, expect) {
  const dlg = document.getElementById('confirm');
  const input = document.getElementById('confirm-input');
  const ok = document.getElementById('confirm-ok');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-label').hidden = !expect;
  document.getElementById('confirm-expect').textContent = expect ?? '';
  input.value = '';
  ok.disabled = Boolean(expect);
  const check = () => (ok.disabled = Boolean(expect) && input.value.trim() !== expect);
  input.addEventListener('input', check);
  dlg.returnValue = '';
  dlg.showModal();
  if (expect) input.focus();
  return new Promise((resolve) => {
    dlg.addEventListener(
      'close',
      () => {
        input.removeEventListener('input', check);
        resolve(dlg.returnValue === 'ok');
      },
      { once: true },
    );
  });
}

/** A field: label, control and optional hint. */
export function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', {}, label), control, hint ? h('small', { class: 'muted' }, hint) : null);
}

/** A button that runs `fn` (disabled while it runs). */
export function button(text, fn, attrs = {}) {
  const b = h('button', { type: 'button', ...attrs }, text);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await fn();
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** A secret shown once, with a copy button. */
export function secretBox(label, secret) {
  const value = h('code', { class: 'secret', 'data-secret': '' }, secret);
  const copy = button('Copy', async () => {
    try {
      await navigator.clipboard.writeText(secret);
      notice('Copied to the clipboard.');
    } catch {
      const r = document.createRange();
      r.selectNodeContents(value);
      getSelection().removeAllRanges();
      getSelection().addRange(r);
      notice('Selected: copy it with Ctrl+C.', 'ok');
    }
  }, { class: 'copy' });
  return h(
    'div',
    { class: 'once', role: 'alert' },
    h('p', {}, h('strong', {}, label), ' — shown once: copy it now. Only its hash is stored.'),
    h('p', {}, value, ' ', copy),
  );
}
