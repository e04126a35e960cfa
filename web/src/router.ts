import { shared, useShared } from "./store";

/**
 * The view lives in the URL (path and query), so a link pasted in Slack opens the same view:
 * `/` the fleet, `/models/NAME` a model, `/alerts`, `/deliveries`, `/sweeps`.
 */
export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

const location = shared<Location>(current());
window.addEventListener("popstate", () => location.set(current()));

export function useLocation(): Location {
  return useShared(location);
}

/** Goes to a view; `replace` changes the URL without a new history entry (filters as one types). */
export function navigate(href: string, replace = false): void {
  if (replace) window.history.replaceState(null, "", href);
  else window.history.pushState(null, "", href);
  location.set(current());
  if (!replace) window.scrollTo(0, 0);
}

/** Sets or clears query parameters of the current view, keeping the others. */
export function setQuery(changes: Record<string, string | null | undefined>, replace = true): void {
  const query = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") query.delete(key);
    else query.set(key, value);
  }
  const search = query.toString();
  navigate(`${window.location.pathname}${search ? `?${search}` : ""}`, replace);
}

/** A link that changes the view without reloading the page; modified clicks open a tab as usual. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.currentTarget ?? event.target) as HTMLAnchorElement;
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
    return;
  if (anchor.origin !== window.location.origin) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}
