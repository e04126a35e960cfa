import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  distinct,
  type FilteredFleet,
  type FleetItem,
  type FleetQuery,
  STAGES,
  VERDICTS,
} from "../fleet-query";
import { setQuery } from "../router";

/** Counts a person acts on are exact: "1,139 due", not "1.1k". */
export const exact = (n: number) => n.toLocaleString("en");

/** The stage counts on top, each a button that filters the table to its stage. */
export function StageCounts({ filtered, query }: { filtered: FilteredFleet; query: FleetQuery }) {
  const pick = (stage: string | null) => setQuery({ stage: query.stage === stage ? null : stage });
  return (
    <fieldset class="stage-counts">
      <legend class="visually-hidden">Deployments by stage (filters the table)</legend>
      <button
        type="button"
        class="stage-count"
        aria-pressed={query.stage === null}
        onClick={() => pick(null)}
      >
        <span class="stage-count-n">{exact(filtered.beforeStage)}</span>
        <span class="stage-count-label">all</span>
      </button>
      {STAGES.map((stage) => (
        <button
          key={stage}
          type="button"
          class={`stage-count stage-count-${stage}`}
          aria-pressed={query.stage === stage}
          onClick={() => pick(stage)}
        >
          <span class="stage-count-n">{exact(filtered.stages[stage])}</span>
          <span class="stage-count-label">{stage}</span>
        </button>
      ))}
    </fieldset>
  );
}

/** Search, the filters' selects (built from the data) and the row count; each writes the URL. */
export function Filters({
  items,
  query,
  shown,
  total,
}: {
  items: FleetItem[];
  query: FleetQuery;
  shown: number;
  total: number;
}) {
  const teams = useMemo(() => distinct(items, (d) => d.owner_team), [items]);
  const environments = useMemo(() => distinct(items, (d) => d.environment), [items]);
  const verdicts = useMemo(
    () => [...new Set([...VERDICTS, ...distinct(items, (d) => d.age.verdict ?? "")])].filter(Boolean),
    [items],
  );
  const [draft, setDraft] = useState(query.q);
  const timer = useRef<number | undefined>(undefined);
  // The URL changed under the box (back, a shared link): show what it says.
  useEffect(() => {
    if (timer.current === undefined) setDraft(query.q);
  }, [query.q]);
  const onSearch = (value: string) => {
    setDraft(value);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      setQuery({ q: value.trim() || null });
    }, 200);
  };
  const any = query.team || query.environment || query.stage || query.verdict || query.q;
  return (
    <div class="fleet-filters">
      <label>
        Search models
        <input
          type="search"
          name="q"
          placeholder="name…"
          value={draft}
          onInput={(e) => onSearch(e.currentTarget.value)}
        />
      </label>
      <Select name="team" label="Team" value={query.team} options={teams} />
      <Select name="environment" label="Environment" value={query.environment} options={environments} />
      <Select name="stage" label="Stage" value={query.stage} options={[...STAGES]} />
      <Select name="verdict" label="Verdict" value={query.verdict} options={verdicts} />
      {any ? (
        <button
          type="button"
          class="fleet-clear"
          onClick={() => {
            window.clearTimeout(timer.current);
            timer.current = undefined;
            setQuery({ team: null, environment: null, stage: null, verdict: null, q: null });
          }}
        >
          Clear filters
        </button>
      ) : null}
      <span class="fleet-shown muted" aria-live="polite">
        {shown === total ? `${exact(total)} rows` : `${exact(shown)} of ${exact(total)} rows`}
      </span>
    </div>
  );
}

function Select({
  name,
  label,
  value,
  options,
}: {
  name: string;
  label: string;
  value: string | null;
  options: string[];
}) {
  // A value from a shared link that the data no longer has stays selectable, so the view says why
  // it is empty.
  const all = value && !options.includes(value) ? [...options, value] : options;
  return (
    <label>
      {label}
      <select
        name={name}
        value={value ?? ""}
        onChange={(e) => setQuery({ [name]: e.currentTarget.value || null })}
      >
        <option value="">all</option>
        {all.map((o) => (
          <option key={o} value={o}>
            {o.replaceAll("_", " ")}
          </option>
        ))}
      </select>
    </label>
  );
}
