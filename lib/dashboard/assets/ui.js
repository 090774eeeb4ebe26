// Small DOM helpers. Every value from the server goes in as text (textContent), never as HTML.

/** An element: el('a', { href, class: 'x', onclick }, child, 'text', ...). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (name === 'style') Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Calls the dashboard API (relative to the page); rejects with the server's message on a 4xx/5xx. */
export async function api(path, options = {}) {
  const init = { headers: { Accept: 'application/json' }, credentials: 'same-origin', ...options };
  if (options.body !== undefined) {
    init.method = options.method ?? 'POST';
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(`api/${path}`, init);
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!response.ok) {
    const message = body && typeof body === 'object' && body.message ? [body.message].flat().join(' ') : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return body;
}

export const STATUS_CLASS = {
  SUCCESS: 'ok',
  ERROR: 'bad',
  MAX_RECOVERY_ATTEMPTS_EXCEEDED: 'bad',
  CANCELLED: 'warn',
  PENDING: 'run',
  ENQUEUED: 'wait',
};

export function statusBadge(status) {
  const label = status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' ? 'MAX RECOVERY' : status;
  return el('span', { class: `badge badge-${STATUS_CLASS[status] ?? 'wait'}`, title: status }, label);
}

export function workflowLink(id, text = id) {
  return el('a', { href: `#/workflow/${encodeURIComponent(id)}`, class: 'mono' }, text);
}

const pad = (n) => String(n).padStart(2, '0');

/** 2026-12-05 14:03:07 in local time. */
export function formatTime(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} m`;
  return `${Math.floor(ms / 86_400_000)} d ${Math.round((ms % 86_400_000) / 3_600_000)} h`;
}

/** A value as collapsible JSON: objects and arrays fold, long ones start folded. */
export function jsonView(value, depth = 0) {
  if (value === null || typeof value !== 'object') {
    const kind = value === null ? 'null' : typeof value;
    return el('span', { class: `json-${kind}` }, kind === 'string' ? JSON.stringify(value) : String(value));
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return el('span', { class: 'json-punct' }, open + close);
  const details = el('details', { class: 'json', open: depth < 2 && entries.length <= 30 });
  details.append(
    el(
      'summary',
      {},
      el('span', { class: 'json-punct' }, open),
      el('span', { class: 'json-count' }, ` ${entries.length} ${entries.length === 1 ? 'item' : 'items'} `),
    ),
  );
  const list = el('div', { class: 'json-body' });
  for (const [key, v] of entries) {
    list.append(
      el('div', { class: 'json-row' }, Array.isArray(value) ? null : el('span', { class: 'json-key' }, `${JSON.stringify(key)}: `), jsonView(v, depth + 1)),
    );
  }
  details.append(list, el('span', { class: 'json-punct' }, close));
  return details;
}

/** A recorded error: class and message, its stack folded beneath. */
export function errorView(error) {
  if (!error) return null;
  const fields = Object.fromEntries(Object.entries(error).filter(([k]) => !['name', 'message', 'stack'].includes(k)));
  return el(
    'div',
    { class: 'error-box' },
    el('div', { class: 'error-title' }, el('strong', {}, error.name ?? 'Error'), ': ', error.message ?? ''),
    Object.keys(fields).length > 0 ? jsonView(fields, 1) : null,
    error.stack ? el('details', { class: 'stack' }, el('summary', {}, 'Stack trace'), el('pre', {}, error.stack)) : null,
  );
}

export function toast(message, kind = 'info') {
  const box = el('div', { class: `toast toast-${kind}`, role: 'status' }, message);
  document.getElementById('toasts').append(box);
  setTimeout(() => box.remove(), kind === 'error' ? 9000 : 5000);
}

/** A confirmation dialog; resolves true when confirmed. */
export function confirmDialog(title, body, confirmLabel, danger = false) {
  return new Promise((resolve) => {
    const dialog = el('dialog', { class: 'confirm' });
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.append(
      el('h3', {}, title),
      el('div', { class: 'confirm-body' }, body),
      el(
        'div',
        { class: 'confirm-actions' },
        el('button', { class: 'btn', type: 'button', onclick: () => finish(false) }, 'Keep as is'),
        el(
          'button',
          { class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, type: 'button', 'data-confirm': true, onclick: () => finish(true) },
          confirmLabel,
        ),
      ),
    );
    dialog.addEventListener('cancel', () => finish(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A table head; a label starting with '>' is a right-aligned (numeric) column. */
export function headRow(...labels) {
  return el(
    'thead',
    {},
    el(
      'tr',
      {},
      labels.map((label) => (label.startsWith('>') ? el('th', { class: 'num' }, label.slice(1)) : el('th', {}, label))),
    ),
  );
}

export function emptyState(text) {
  return el('div', { class: 'empty' }, text);
}

export function errorState(err) {
  return el('div', { class: 'alert alert-bad' }, err instanceof Error ? err.message : String(err));
}
