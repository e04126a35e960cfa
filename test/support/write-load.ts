import { openDatabase } from "../../src/store/database.js";

/**
 * Write load for fault tests (test/e2e/crash-safety.test.ts, test/e2e/postgres-restart.test.ts):
 * clients that register, send metrics and review as fast as the server answers, and a ledger of
 * what the server acknowledged (a 2xx reached the client), to compare with the database after.
 */

/** Where the server is now; undefined while it is down (killed, not yet restarted). */
export type Target = () => string | undefined;

export interface AckedRegistration {
  key: string;
  id: number;
  model: string;
  environment: string;
  model_version: string;
}

export interface AckedPoint {
  deployment_id: number;
  name: string;
  timestamp: number;
  value: number;
}

/** One answer as the client saw it: its status (0 when no answer came), how long it took, its Retry-After. */
export interface Answer {
  route: "register" | "metrics" | "review";
  status: number;
  ms: number;
  retry_after: string | null;
  /** When the request was sent, Date.now(). */
  at: number;
}

export class WriteLedger {
  readonly registrations: AckedRegistration[] = [];
  /** Registration keys sent, acknowledged or not: each is retried until it is. */
  readonly keysSent = new Set<string>();
  readonly points: AckedPoint[] = [];
  /** Review notes the server acknowledged, with their deployment. */
  readonly reviews = new Map<string, number>();
  /** Reviews sent whose answer never came: each may or may not have been recorded, but once at most. */
  readonly unansweredReviews = new Map<string, number>();
  readonly answers: Answer[] = [];
  /** Registrations answered with the first answer to their Idempotency-Key: committed before, unanswered then. */
  replays = 0;
  /** Answers that were neither a 2xx nor a 503: the load goes on past them, the test fails on them. */
  readonly failures: string[] = [];

  /** How many writes the server acknowledged. */
  acknowledged(): number {
    return this.registrations.length + this.points.length + this.reviews.size;
  }
}

export interface LoadOptions {
  target: Target;
  token: string;
  clients: number;
  ledger: WriteLedger;
  /** Once aborted, each client finishes what it has started (retrying until acknowledged) and stops. */
  signal: AbortSignal;
  /** Once aborted, clients stop at once, retrying nothing: for a test that failed half-way. */
  halt?: AbortSignal;
  /** Per request; an answer that does not come in time counts as no answer. */
  timeoutMs?: number;
}

const ENVIRONMENTS = ["production", "staging"];
const MODELS_PER_CLIENT = 2;
/** Every this many steps, a client sends an acknowledged registration again. */
const RESEND_EVERY = 5;
/** A registration's own data cutoff: fixed, so a retried body hashes as the first. */
const CUTOFF = "2026-01-01T00:00:00.000Z";

/** Runs `clients` write loops until `signal` aborts and each has finished its last step. */
export async function runWriteLoad(options: LoadOptions): Promise<void> {
  await Promise.all(Array.from({ length: options.clients }, (_, c) => clientLoop(options, c)));
}

/**
 * One client: on each step it registers a new primary version of one of its models in one
 * environment (each client owns its models, so no two clients race for one primary), sends
 * metric points for it and reviews it. Registrations carry an Idempotency-Key and metric points
 * their own timestamps, so both are retried until acknowledged; a review has no key and is sent
 * once. Every few steps it sends an earlier, acknowledged registration again (resendEarlier).
 */
async function clientLoop(options: LoadOptions, c: number): Promise<void> {
  const { ledger } = options;
  for (let step = 0; !options.signal.aborted && !options.halt?.aborted; step++) {
    const model = `crash-c${c}-m${step % MODELS_PER_CLIENT}`;
    const environment = ENVIRONMENTS[Math.floor(step / MODELS_PER_CLIENT) % ENVIRONMENTS.length] as string;
    const key = `c${c}-s${step}`;
    const model_version = `1.${step}.0`;
    ledger.keysSent.add(key);
    const registered = await untilAcknowledged(options, "register", "/v1/deployments", {
      body: { model, model_version, environment, owner_team: "crash", training_data_cutoff: CUTOFF },
      headers: { "idempotency-key": key },
    });
    if (registered === undefined) continue;
    const id = (registered as { id: number }).id;
    ledger.registrations.push({ key, id, model, environment, model_version });
    if (step % RESEND_EVERY === RESEND_EVERY - 1) await resendEarlier(options, c, step - (RESEND_EVERY - 1));

    const points = [0, 1, 2].map((i) => ({
      name: "accuracy",
      value: Math.round(Math.random() * 1000) / 1000,
      timestamp: new Date(Date.UTC(2026, 0, 1) + (step * 3 + i) * 1000).toISOString(),
    }));
    const sent = await untilAcknowledged(options, "metrics", `/v1/deployments/${id}/metrics`, {
      body: { points },
    });
    if (sent === undefined) continue;
    for (const p of points) {
      ledger.points.push({
        deployment_id: id,
        name: p.name,
        timestamp: Date.parse(p.timestamp),
        value: p.value,
      });
    }

    const note = `review ${key}`;
    const reviewed = await send(options, "review", `/v1/deployments/${id}/review`, {
      body: { note, extend_seconds: 60 },
    });
    if (reviewed.status >= 200 && reviewed.status < 300) ledger.reviews.set(note, id);
    else if (reviewed.status === 0 || reviewed.status === 503) ledger.unansweredReviews.set(note, id);
    else ledger.failures.push(`review ${note} was answered ${reviewed.status}: ${reviewed.text}`);
  }
}

/**
 * Sends an acknowledged registration again, as a client whose answer was lost would: the answer
 * must be the first one, the same deployment, however many restarts came in between. A kill
 * rarely lands between a commit and its answer, so the load makes these retries itself.
 */
async function resendEarlier(options: LoadOptions, c: number, step: number): Promise<void> {
  const key = `c${c}-s${step}`;
  const first = options.ledger.registrations.find((r) => r.key === key);
  if (!first) return;
  const again = await untilAcknowledged(options, "register", "/v1/deployments", {
    body: {
      model: first.model,
      model_version: first.model_version,
      environment: first.environment,
      owner_team: "crash",
      training_data_cutoff: CUTOFF,
    },
    headers: { "idempotency-key": key },
  });
  const id = (again as { id?: number } | undefined)?.id;
  if (again !== undefined && id !== first.id) {
    options.ledger.failures.push(`registration ${key} was deployment ${first.id}, sent again it is ${id}`);
  }
}

/**
 * Sends until a 2xx comes, and resolves to its body; no answer and 503 are retried. Any other
 * status is a failure, recorded in the ledger: resolves undefined.
 */
async function untilAcknowledged(
  options: LoadOptions,
  route: Answer["route"],
  path: string,
  request: { body: unknown; headers?: Record<string, string> },
): Promise<unknown> {
  for (;;) {
    const answer = await send(options, route, path, request);
    if (answer.status >= 200 && answer.status < 300) return JSON.parse(answer.text);
    if (options.halt?.aborted) return undefined;
    if (answer.status !== 0 && answer.status !== 503) {
      options.ledger.failures.push(`${route} ${path} was answered ${answer.status}: ${answer.text}`);
      return undefined;
    }
    await new Promise((next) => setTimeout(next, 10));
  }
}

async function send(
  options: LoadOptions,
  route: Answer["route"],
  path: string,
  request: { body: unknown; headers?: Record<string, string> },
): Promise<{ status: number; text: string }> {
  let base = options.target();
  while (base === undefined) {
    if (options.halt?.aborted) return { status: 0, text: "" };
    await new Promise((next) => setTimeout(next, 10));
    base = options.target();
  }
  const at = Date.now();
  try {
    const response = await fetch(`${base}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${options.token}`,
        "content-type": "application/json",
        ...request.headers,
      },
      body: JSON.stringify(request.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const text = await response.text();
    if (response.headers.get("idempotent-replayed") === "true") options.ledger.replays++;
    options.ledger.answers.push({
      route,
      status: response.status,
      ms: Date.now() - at,
      retry_after: response.headers.get("retry-after"),
      at,
    });
    return { status: response.status, text };
  } catch {
    // Refused, reset mid-request or timed out: the client cannot know whether it was written.
    options.ledger.answers.push({ route, status: 0, ms: Date.now() - at, retry_after: null, at });
    return { status: 0, text: "" };
  }
}

/** What the database holds that the ledger says it must, and what it must not. */
export interface LedgerCheck {
  registrations_acknowledged: number;
  /** Acknowledged registrations whose deployment is not there as acknowledged. */
  missing_registrations: string[];
  /** Registration keys that made more than one deployment (same model, environment and version). */
  duplicated_registrations: string[];
  /** Deployments no acknowledged registration made. */
  unexplained_deployments: number[];
  points_acknowledged: number;
  missing_points: string[];
  duplicated_points: string[];
  reviews_acknowledged: number;
  missing_reviews: string[];
  duplicated_reviews: string[];
  /** Model and environment pairs with more than one live primary. */
  live_primaries_over_one: string[];
  /** Deployments whose status or TTL extension is not what their events say. */
  state_not_from_events: string[];
}

/** The status each event type leaves a deployment in; other events (reviewed) leave it as it was. */
const STATUS_AFTER: Record<string, string> = {
  deployed: "active",
  scheduled: "scheduled",
  promoted: "active",
  superseded: "superseded",
  rolled_back: "rolled_back",
  canary_rolled_back: "rolled_back",
  retired: "retired",
};

const ENDED = new Set(["superseded", "rolled_back", "retired"]);

/**
 * Reads the database (the server stopped or idle) and compares it with the ledger: every
 * acknowledged write present once, nothing duplicated, one live primary per model and
 * environment, and every deployment's status and TTL extension derived anew from its events.
 */
export async function checkLedger(url: string, ledger: WriteLedger): Promise<LedgerCheck> {
  const database = openDatabase(url);
  try {
    const { db } = database;
    const deployments = await db
      .selectFrom("deployments")
      .select(["id", "model", "environment", "model_version", "role", "status", "ttl_extension_seconds"])
      .orderBy("id")
      .execute();
    const events = await db
      .selectFrom("deployment_events")
      .select(["id", "deployment_id", "type", "data"])
      .orderBy("id")
      .execute();
    const points = await db
      .selectFrom("metric_points")
      .select(["deployment_id", "name", "timestamp", "value"])
      .execute();
    return compare(ledger, deployments, events, points);
  } finally {
    await database.db.destroy();
  }
}

function compare(
  ledger: WriteLedger,
  deployments: Array<{
    id: number;
    model: string;
    environment: string;
    model_version: string;
    role: string;
    status: string;
    ttl_extension_seconds: number;
  }>,
  events: Array<{ id: number; deployment_id: number | null; type: string; data: string }>,
  points: Array<{ deployment_id: number; name: string; timestamp: number; value: number }>,
): LedgerCheck {
  const byId = new Map(deployments.map((d) => [d.id, d]));
  const byVersion = countBy(deployments, (d) => `${d.model}/${d.environment}/${d.model_version}`);
  const acknowledgedIds = new Set(ledger.registrations.map((r) => r.id));

  const pointCount = countBy(points, (p) => `${p.deployment_id}/${p.name}/${p.timestamp}`);
  const pointValue = new Map(points.map((p) => [`${p.deployment_id}/${p.name}/${p.timestamp}`, p.value]));

  const reviewCount = new Map<string, number>();
  const derived = new Map<number, { status?: string; extension: number }>();
  const outOfPlace: string[] = [];
  for (const event of events) {
    if (event.deployment_id === null) continue;
    const state = derived.get(event.deployment_id) ?? { extension: 0 };
    const status = STATUS_AFTER[event.type];
    // A deployment's story starts with its registration, once, and its status never changes after it ended.
    const first = state.status === undefined;
    const starts = event.type === "deployed" || event.type === "scheduled";
    const misplaced =
      !byId.has(event.deployment_id) ||
      first !== starts ||
      (status !== undefined && ENDED.has(state.status ?? ""));
    if (misplaced) outOfPlace.push(`event ${event.id} (${event.type}) of deployment ${event.deployment_id}`);
    if (status) state.status = status;
    if (event.type === "reviewed") {
      const data = JSON.parse(event.data) as { note: string; extend_seconds: number };
      state.extension += data.extend_seconds;
      reviewCount.set(data.note, (reviewCount.get(data.note) ?? 0) + 1);
    }
    derived.set(event.deployment_id, state);
  }

  const live = countBy(
    deployments.filter((d) => d.status === "active" && d.role === "primary"),
    (d) => `${d.model}/${d.environment}`,
  );
  return {
    registrations_acknowledged: ledger.registrations.length,
    missing_registrations: ledger.registrations
      .filter((r) => {
        const d = byId.get(r.id);
        return (
          !d || d.model !== r.model || d.environment !== r.environment || d.model_version !== r.model_version
        );
      })
      .map((r) => r.key),
    duplicated_registrations: ledger.registrations
      .filter((r) => (byVersion.get(`${r.model}/${r.environment}/${r.model_version}`) ?? 0) > 1)
      .map((r) => r.key),
    unexplained_deployments: deployments.filter((d) => !acknowledgedIds.has(d.id)).map((d) => d.id),
    points_acknowledged: ledger.points.length,
    missing_points: ledger.points
      .filter((p) => pointValue.get(`${p.deployment_id}/${p.name}/${p.timestamp}`) !== p.value)
      .map((p) => `${p.deployment_id}/${p.name}/${p.timestamp}`),
    duplicated_points: [...pointCount].filter(([, n]) => n > 1).map(([key]) => key),
    reviews_acknowledged: ledger.reviews.size,
    missing_reviews: [...ledger.reviews.keys()].filter((note) => reviewCount.get(note) !== 1),
    duplicated_reviews: [...reviewCount].filter(([, n]) => n > 1).map(([note]) => note),
    live_primaries_over_one: [...live].filter(([, n]) => n > 1).map(([pair]) => pair),
    state_not_from_events: [
      ...outOfPlace,
      ...deployments
        .filter((d) => {
          const state = derived.get(d.id);
          return state?.status !== d.status || state.extension !== d.ttl_extension_seconds;
        })
        .map(
          (d) =>
            `${d.id}: ${d.status}, ext ${d.ttl_extension_seconds}; events say ${JSON.stringify(derived.get(d.id))}`,
        ),
    ],
  };
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}
