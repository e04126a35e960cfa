import type { AgeStage } from "../core/age.js";
import { InputError } from "../core/errors.js";
import type { DeploymentRole, DeploymentStatus } from "../core/words.js";
import type { DeploymentFilter, PageStore } from "../store/page-store.js";
import type { DeploymentRow } from "../store/schema.js";
import type { DeploymentView } from "./deployment-view.js";

export interface ListQuery {
  model?: string;
  environment?: string;
  owner_team?: string;
  role?: DeploymentRole;
  status?: DeploymentStatus;
  stage?: AgeStage;
  sort: "-age" | "age";
  limit: number;
  cursor?: string;
}

export interface ListResult {
  items: DeploymentView[];
  next_cursor: string | null;
}

/**
 * A page of deployments in age order (GET /v1/deployments, `tenure ls`), each shown by `view`,
 * judged at `now`; `next_cursor` resumes after its last one.
 */
export async function listDeployments(
  pages: PageStore,
  view: (row: DeploymentRow, now: number) => DeploymentView,
  query: ListQuery,
  now: number,
): Promise<ListResult> {
  const filter: DeploymentFilter = {
    model: query.model,
    environment: query.environment,
    owner_team: query.owner_team,
    role: query.role,
    statuses: query.status ? [query.status] : undefined,
  };
  const order = query.sort === "-age" ? "asc" : "desc";
  let after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (!query.stage) {
    const rows = await pages.listDeployments({ filter, order, limit: query.limit + 1, after });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => view(row, now)),
      next_cursor: rows.length > query.limit && last ? encodeCursor([last.deployment_date, last.id]) : null,
    };
  }
  // Only live deployments have a stage, and each one's stage depends on its own policy: read
  // live deployments in age order, keep those in the stage, stop once the page is full.
  if (query.status && query.status !== "active") return { items: [], next_cursor: null };
  filter.statuses = ["active"];
  const kept: { row: DeploymentRow; view: DeploymentView }[] = [];
  const chunk = Math.max(200, query.limit * 4);
  for (;;) {
    const rows = await pages.listDeployments({ filter, order, limit: chunk, after });
    for (const row of rows) {
      const shown = view(row, now);
      if (shown.age.stage === query.stage) kept.push({ row, view: shown });
      if (kept.length > query.limit) break;
    }
    const last = rows.at(-1);
    if (kept.length > query.limit || rows.length < chunk || !last) break;
    after = [last.deployment_date, last.id];
  }
  const page = kept.slice(0, query.limit);
  const lastRow = page.at(-1)?.row;
  return {
    items: page.map((k) => k.view),
    next_cursor:
      kept.length > query.limit && lastRow ? encodeCursor([lastRow.deployment_date, lastRow.id]) : null,
  };
}

function encodeCursor(key: [number, number]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

function decodeCursor(cursor: string): [number, number] {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(key) && key.length === 2 && key.every((n) => Number.isSafeInteger(n))) {
      return key as [number, number];
    }
  } catch {
    // Falls through to the error below.
  }
  throw new InputError("cursor is not valid", [
    { field: "cursor", message: "must be a next_cursor returned by this endpoint" },
  ]);
}
