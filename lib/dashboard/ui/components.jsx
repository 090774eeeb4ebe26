// Shared pieces of the pages. Every server value is rendered as a text child (Preact escapes it).
import { useEffect, useState } from 'preact/hooks';

export const STATUS_CLASS = {
  SUCCESS: 'ok',
  ERROR: 'bad',
  MAX_RECOVERY_ATTEMPTS_EXCEEDED: 'bad',
  CANCELLED: 'warn',
  PENDING: 'run',
  ENQUEUED: 'wait',
};

/** Runs `load` once per mount: `{ data }`, `{ error }` or, until it settles, `{}`. */
export function useLoad(load) {
  const [result, setResult] = useState({});
  useEffect(() => {
    let mounted = true;
    load().then(
      (data) => mounted && setResult({ data }),
      (error) => mounted && setResult({ error }),
    );
    return () => {
      mounted = false;
    };
  }, []);
  return result;
}

/** A page's body once its data has loaded: the error if it failed, nothing while it loads. */
export function Loaded({ result, children }) {
  if (result.error) return <ErrorState error={result.error} />;
  if (!('data' in result)) return null;
  return children(result.data);
}

export function StatusBadge({ status }) {
  return (
    <span class={`badge badge-${STATUS_CLASS[status] ?? 'wait'}`} title={status}>
      {status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' ? 'MAX RECOVERY' : status}
    </span>
  );
}

export function Badge({ kind, children }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function WorkflowLink({ id }) {
  return (
    <a href={`#/workflow/${encodeURIComponent(id)}`} class="mono">
      {id}
    </a>
  );
}

/** A dotted name (`DBOS.writeStream`) that a narrow column wraps after a dot, not inside a word. */
export function DottedName({ name }) {
  const parts = name.split('.');
  return parts.map((part, i) => (i === parts.length - 1 ? part : [`${part}.`, <wbr key={i} />]));
}

/** A link to the workflows list with these filters. */
export function FilterLink({ filters, children }) {
  return <a href={`#/workflows?${new URLSearchParams(filters).toString()}`}>{children}</a>;
}

export function Muted({ children = '—' }) {
  return <span class="muted">{children}</span>;
}

/** A value as collapsible JSON: objects and arrays fold, long ones start folded. */
export function JsonView({ value, depth = 0 }) {
  if (value === null || typeof value !== 'object') {
    const kind = value === null ? 'null' : typeof value;
    return <span class={`json-${kind}`}>{kind === 'string' ? JSON.stringify(value) : String(value)}</span>;
  }
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return <span class="json-punct">{open + close}</span>;
  return (
    <details class="json" open={depth < 2 && entries.length <= 30}>
      <summary>
        <span class="json-punct">{open}</span>
        <span class="json-count">{` ${entries.length} ${entries.length === 1 ? 'item' : 'items'} `}</span>
      </summary>
      <div class="json-body">
        {entries.map(([key, v]) => (
          <div class="json-row" key={key}>
            {isArray ? null : <span class="json-key">{`${JSON.stringify(key)}: `}</span>}
            <JsonView value={v} depth={depth + 1} />
          </div>
        ))}
      </div>
      <span class="json-punct">{close}</span>
    </details>
  );
}

/** A recorded error: class and message, its other fields, its stack folded beneath. */
export function ErrorView({ error }) {
  if (!error) return null;
  const fields = Object.fromEntries(Object.entries(error).filter(([k]) => !['name', 'message', 'stack'].includes(k)));
  return (
    <div class="error-box">
      <div class="error-title">
        <strong>{error.name ?? 'Error'}</strong>: {error.message ?? ''}
      </div>
      {Object.keys(fields).length > 0 && <JsonView value={fields} depth={1} />}
      {error.stack && (
        <details class="stack">
          <summary>Stack trace</summary>
          <pre>{error.stack}</pre>
        </details>
      )}
    </div>
  );
}

/** A table head; a label starting with '>' is a right-aligned (numeric) column. */
export function HeadRow({ labels }) {
  return (
    <thead>
      <tr>
        {labels.map((label, i) =>
          label.startsWith('>') ? (
            <th key={i} class="num">
              {label.slice(1)}
            </th>
          ) : (
            <th key={i}>{label}</th>
          ),
        )}
      </tr>
    </thead>
  );
}

/** A table of `items`, a row of `row(item)` cells each, or `empty` when there is none. */
export function Grid({ items, empty, head = [], row, rowProps = () => ({}), id, wrap = false }) {
  if (items.length === 0 && empty) return <EmptyState>{empty}</EmptyState>;
  const table = (
    <table class="grid" id={id}>
      {head.length > 0 && <HeadRow labels={head} />}
      <tbody>
        {items.map((item, i) => (
          <tr key={i} {...rowProps(item)}>
            {row(item)}
          </tr>
        ))}
      </tbody>
    </table>
  );
  return wrap ? <div class="table-wrap">{table}</div> : table;
}

export function Card({ title, id, children }) {
  return (
    <section class="card" id={id}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function PageHead({ title, children }) {
  return (
    <div class="page-head">
      <h1>{title}</h1>
      {children}
    </div>
  );
}

export function EmptyState({ children }) {
  return <div class="empty">{children}</div>;
}

export function ErrorState({ error }) {
  return <div class="alert alert-bad">{error instanceof Error ? error.message : String(error)}</div>;
}
