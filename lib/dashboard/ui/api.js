// The dashboard API, relative to the page (its <base> is the dashboard's path): same-origin JSON.

/** Calls `api/<path>`; with a `body`, a JSON POST. Rejects with the server's message on a 4xx/5xx. */
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
