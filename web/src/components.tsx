import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import { onLinkClick } from "./router";

/** A stage or verdict in colour AND word: colour is never the only signal. */
export function Badge({ kind, value }: { kind: "stage" | "verdict" | "state"; value: string | null }) {
  if (!value) return <span class="badge badge-none">—</span>;
  return <span class={`badge ${kind}-${value}`}>{value.replaceAll("_", " ")}</span>;
}

export function Link({
  href,
  children,
  class: className,
}: {
  href: string;
  children: ComponentChildren;
  class?: string;
}) {
  return (
    <a href={href} class={className} onClick={onLinkClick}>
      {children}
    </a>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" aria-busy="true">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  return (
    <div class="error" role="alert">
      <strong>{api ? `${api.title}${api.status ? ` (${api.status})` : ""}` : "Something went wrong"}</strong>
      {api?.detail ? <p>{api.detail}</p> : error instanceof Error ? <p>{error.message}</p> : null}
      {api?.errors.length ? (
        <ul>
          {api.errors.map((e) => (
            <li key={e.field}>
              <code>{e.field}</code>: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** Loads data for a view; `reload` fetches again after an action. */
export function useData<T>(
  load: () => Promise<T>,
  deps: unknown[],
): {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
} {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

/**
 * A modal that says exactly what an action will do before it is done. Escape or Cancel closes it;
 * focus starts in the dialog so it can be worked from the keyboard.
 */
export function Confirm({
  title,
  children,
  action,
  onConfirm,
  onClose,
  danger = false,
}: {
  title: string;
  children: ComponentChildren;
  action: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  danger?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <dialog ref={dialog} class="confirm" onClose={onClose} aria-labelledby="confirm-title">
      <form method="dialog" onSubmit={submit}>
        <h2 id="confirm-title">{title}</h2>
        <div class="confirm-body">{children}</div>
        <ErrorBox error={error} />
        <div class="confirm-actions">
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class={danger ? "danger" : "primary"} disabled={busy}>
            {busy ? "Working…" : action}
          </button>
        </div>
      </form>
    </dialog>
  );
}
