import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api } from "../api";
import { ErrorBox, Loading, useData } from "../components";
import { relativeTime, shortTime } from "../format";
import "./list-parts.css";

/**
 * The parts the alerts, deliveries and sweeps lists share: a segmented filter, a labelled select,
 * a timestamp told relative with the exact time on hover, counts on top and an empty state.
 */
export function Segmented<T extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: T;
  options: { value: T; label: string; count?: number }[];
  onChange: (value: T) => void;
}) {
  return (
    <fieldset class="segmented">
      <legend class="visually-hidden">{label}</legend>
      {options.map((option) => (
        <button
          key={option.value}
          type="button"
          aria-pressed={option.value === value}
          onClick={() => onChange(option.value)}
        >
          {option.label}
          {option.count !== undefined ? <span class="segmented-count">{option.count}</span> : null}
        </button>
      ))}
    </fieldset>
  );
}

export function FilterSelect({
  label,
  value,
  options,
  onChange,
  all,
}: {
  label: string;
  value: string;
  options: { value: string; label: string }[];
  onChange: (value: string) => void;
  all: string;
}) {
  return (
    <label class="filter-select">
      {label}
      <select value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">{all}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function TimeAgo({ iso, empty = "—" }: { iso: string | null | undefined; empty?: string }) {
  if (!iso) return <span class="muted">{empty}</span>;
  return (
    <time dateTime={iso} title={shortTime(iso)}>
      {relativeTime(iso)}
    </time>
  );
}

/** The figures on top of a list: each a number and its word. */
export function Tally({
  items,
}: {
  items: { label: string; value: number | string; tone?: "bad" | "warn" | "ok" }[];
}) {
  return (
    <dl class="tally">
      {items.map((item) => (
        <div key={item.label} class={item.tone ? `tally-${item.tone}` : undefined}>
          <dd>{item.value}</dd>
          <dt>{item.label}</dt>
        </div>
      ))}
    </dl>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty" role="status">
      <strong>{title}</strong>
      {children ? <p>{children}</p> : null}
    </div>
  );
}

/** "381 ms", "1.2 s", "2m 5s": a sweep's or an attempt's duration. */
export function durationMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
}

/** What a paged list shows of itself. */
interface ListView {
  items: unknown[] | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Reads the list again; says so while it does, once something is on screen. */
export function RefreshButton({ list }: { list: ListView }) {
  return (
    <button type="button" onClick={list.reload} disabled={list.loading}>
      {list.loading && list.items ? "Refreshing…" : "Refresh"}
    </button>
  );
}

/**
 * What stands above a list's rows: the last action's notice, the list's error (what was shown
 * stays), and its first load. The rows follow once `list.items` is there.
 */
export function ListStatus({ list, what, notice }: { list: ListView; what: string; notice?: string | null }) {
  return (
    <>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorBox error={list.error} />
      {!list.items && list.loading ? <Loading what={what} /> : null}
    </>
  );
}

/**
 * A cursor-paged list (`{items, next_cursor}`): the first page on load and on `reload`, older
 * pages appended by `more`. Errors keep what was shown.
 */
export function usePagedList<T>(
  path: string,
  query: Record<string, string | number | undefined>,
): {
  items: T[] | undefined;
  error: unknown;
  loading: boolean;
  hasMore: boolean;
  more: () => void;
  reload: () => void;
} {
  const key = JSON.stringify(query);
  const first = useData(() => api.get<Page<T>>(path, query), [path, key]);
  const [older, setOlder] = useState<{ key: string; pages: Page<T>[] }>({ key, pages: [] });
  const [moreError, setMoreError] = useState<unknown>();
  const pages =
    older.key === key && first.data ? [first.data, ...older.pages] : first.data ? [first.data] : [];
  const cursor = pages.at(-1)?.next_cursor ?? null;
  return {
    items: first.data ? pages.flatMap((p) => p.items) : undefined,
    error: first.error ?? moreError,
    loading: first.loading,
    hasMore: cursor !== null,
    more: () => {
      if (cursor === null) return;
      api
        .get<Page<T>>(path, { ...query, cursor })
        .then(
          (page) => setOlder((o) => ({ key, pages: [...(o.key === key ? o.pages : []), page] })),
          setMoreError,
        );
    },
    reload: () => {
      setOlder({ key, pages: [] });
      setMoreError(undefined);
      first.reload();
    },
  };
}

interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
