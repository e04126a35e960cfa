import { useState } from "preact/hooks";
import { relativeTime, shortTime } from "../../format";
import { eventLabel, eventTone } from "./event-label";
import type { ModelEvent } from "./model-types";

/** Events shown before "Show all": a long history stays one click away without flooding the page. */
const FIRST = 50;

/** The environment's events, newest first, each a sentence with who and when. */
export function EventHistory({
  events,
  versionOf,
  now,
}: {
  events: ModelEvent[];
  versionOf: (id: number) => string | undefined;
  now: number;
}) {
  const [all, setAll] = useState(false);
  if (events.length === 0) return <p class="muted">Nothing has happened here yet.</p>;
  const newest = [...events].sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || b.id - a.id);
  const shown = all ? newest : newest.slice(0, FIRST);
  return (
    <>
      <ol class="event-list" aria-label="Events, newest first">
        {shown.map((e) => (
          <li key={e.id} data-event-id={e.id}>
            <time dateTime={e.at} title={shortTime(e.at)}>
              {relativeTime(e.at, now)}
            </time>
            <span class={`badge event-${eventTone(e.type)}`}>{e.type.replaceAll("_", " ")}</span>
            <span class="event-text">{eventLabel(e, versionOf)}</span>
            <span class="event-actor">{e.actor}</span>
          </li>
        ))}
      </ol>
      {shown.length < newest.length ? (
        <button type="button" class="more" onClick={() => setAll(true)}>
          Show all {newest.length} events
        </button>
      ) : null}
    </>
  );
}
