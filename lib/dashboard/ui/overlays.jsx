// The result notices (toasts) and the confirmation dialog, called from anywhere, shown by <Overlays />.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

let state = { toasts: [], confirm: null };
let nextId = 1;
const listeners = new Set();

function update(change) {
  state = { ...state, ...change(state) };
  for (const listener of listeners) listener(state);
}

export function toast(message, kind = 'info') {
  const id = nextId++;
  update((s) => ({ toasts: [...s.toasts, { id, message, kind }] }));
  setTimeout(() => update((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })), kind === 'error' ? 9000 : 5000);
}

/** A confirmation dialog; resolves true when confirmed. `body` is text or elements. */
export function confirmDialog(title, body, confirmLabel, danger = false) {
  return new Promise((resolve) => {
    const finish = (answer) => {
      update(() => ({ confirm: null }));
      resolve(answer);
    };
    update(() => ({ confirm: { id: nextId++, title, body, confirmLabel, danger, finish } }));
  });
}

function ConfirmDialog({ title, body, confirmLabel, danger, finish }) {
  const ref = useRef(null);
  useLayoutEffect(() => {
    ref.current.showModal();
    return () => ref.current?.open && ref.current.close();
  }, []);
  const cancel = (event) => {
    event.preventDefault();
    finish(false);
  };
  return (
    <dialog class="confirm" ref={ref} onCancel={cancel}>
      <h3>{title}</h3>
      <div class="confirm-body">{body}</div>
      <div class="confirm-actions">
        <button class="btn" type="button" onClick={() => finish(false)}>
          Keep as is
        </button>
        <button class={`btn ${danger ? 'btn-danger' : 'btn-primary'}`} type="button" data-confirm onClick={() => finish(true)}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function Overlays() {
  const [current, setCurrent] = useState(state);
  useEffect(() => {
    listeners.add(setCurrent);
    return () => listeners.delete(setCurrent);
  }, []);
  return (
    <>
      <div class="toasts" id="toasts" aria-live="polite">
        {current.toasts.map((t) => (
          <div key={t.id} class={`toast toast-${t.kind}`} role="status">
            {t.message}
          </div>
        ))}
      </div>
      {current.confirm && <ConfirmDialog key={current.confirm.id} {...current.confirm} />}
    </>
  );
}
