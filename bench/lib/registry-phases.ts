/**
 * The measured phases of the registry benchmark: (a) registrations and (b) list reads, each in
 * rounds that alternate the floor and Tenure with the same requests and connections.
 */
import type { ListShape } from "./census.js";
import type { ChildServer } from "./child-server.js";
import { monotonicMicros, type TimeWindow } from "./cpu-profile.js";
import { type LoadRequest, runLoad } from "./load.js";
import { log } from "./log.js";
import { CpuWindow, type QuietGate } from "./proc-stats.js";
import {
  type ReadFigures,
  type RegistrationFigures,
  type RoundFigures,
  type SideFigures,
  TARGETS,
} from "./registry-report.js";
import type { Dialect } from "./scratch-database.js";
import { median } from "./stats.js";
import { ENVIRONMENTS, MODELS, ownerTeam, registrationBody } from "./workload.js";

/** How much load each phase sends: the benchmark's flags of the same names. */
export interface PhaseFlags {
  count: number;
  connections: number;
  rounds: number;
  "read-connections": number;
  "read-rounds": number;
  "read-seconds": number;
}

/** What every phase of one dialect's run works with. */
export interface Setup {
  dialect: Dialect;
  tenure: ChildServer;
  floor: ChildServer;
  /** PostgreSQL: the bare write server (bench/lib/bare-postgres-server.ts), a registration peer. */
  bare?: ChildServer;
  auth: Record<string, string>;
  flags: PhaseFlags;
  gate: QuietGate;
  /** When each phase ran, to cut the server's CPU profile by phase. */
  phases: Record<string, TimeWindow>;
}

/**
 * (a) Registrations in rounds; each round the floor takes the same bodies first, then the bare
 * write server (PostgreSQL), then Tenure.
 */
export async function benchRegistration(setup: Setup): Promise<RegistrationFigures> {
  const { tenure, floor, bare, auth, flags } = setup;
  const perRound = Math.ceil(flags.count / flags.rounds);
  log(
    `\n(a) registration: ${flags.count.toLocaleString("en-US")} POST /v1/deployments over ` +
      `${MODELS} models x ${ENVIRONMENTS.length} environments, ${flags.connections} connections, ` +
      `${flags.rounds} rounds (floor${bare ? ", bare" : ""}, then tenure)`,
  );
  // The floor keeps nothing, so it (and this process's load generator) can warm up on a first
  // batch; Tenure cannot without registering more than COUNT, so its first round carries its
  // warm-up and the median over rounds discounts it.
  let warm = 0;
  await runLoad({
    label: "warm-up",
    url: floor.url,
    connections: flags.connections,
    amount: Math.min(10_000, flags.count),
    request: {
      method: "POST",
      path: "/v1/deployments",
      headers: { ...auth, "content-type": "application/json" },
      nextBody: () => JSON.stringify(registrationBody(warm++)),
    },
  });
  const sides: Record<string, RoundFigures[]> = { tenure: [], floor: [], bare: [] };
  const from = monotonicMicros();
  for (let r = 0; r < flags.rounds; r++) {
    const first = r * perRound;
    const amount = Math.min(perRound, flags.count - first);
    for (const server of bare ? [floor, bare, tenure] : [floor, tenure]) {
      let next = first;
      const request: LoadRequest = {
        method: "POST",
        path: "/v1/deployments",
        headers: { ...auth, "content-type": "application/json" },
        nextBody: () => JSON.stringify(registrationBody(next++)),
      };
      const figures = await measuredLoad(server, setup, {
        label: `${server.name} register round ${r + 1}/${flags.rounds}`,
        connections: flags.connections,
        request,
        amount,
      });
      sides[server.name]?.push(figures);
      report(server, figures);
    }
  }
  setup.phases.registration = { from_us: from, to_us: monotonicMicros() };
  const tenureSide = side(sides.tenure ?? []);
  const floorSide = side(sides.floor ?? []);
  const bareSide = bare ? side(sides.bare ?? []) : undefined;
  const ratio = tenureSide.median_req_per_s / floorSide.median_req_per_s;
  return {
    registrations: flags.count,
    connections: flags.connections,
    tenure: tenureSide,
    floor: floorSide,
    ratio,
    target_min_ratio: TARGETS.min_registration_ratio,
    met: ratio >= TARGETS.min_registration_ratio,
    ...(bareSide
      ? { bare: bareSide, bare_ratio: bareSide.median_req_per_s / floorSide.median_req_per_s }
      : {}),
  };
}

/** (b) List reads with the fleet registered: Tenure against the floor serving the same page. */
export async function benchReads(setup: Setup, shapes: ListShape[]): Promise<ReadFigures[]> {
  const { tenure, floor, auth, flags } = setup;
  const limit = 100;
  const team = ownerTeam(0);
  const firstTeamPage = await getPage(tenure, `/v1/deployments?limit=${limit}&owner_team=${team}`, auth);
  const cursor = firstTeamPage.next_cursor;
  const queries: { name: string; path: string; shape: ListShape }[] = [
    {
      name: "list env=production page 1",
      path: `/v1/deployments?limit=${limit}&environment=production`,
      shape: { name: "production page 1", environment: "production", limit: limit + 1 },
    },
  ];
  if (cursor) {
    queries.push({
      name: `list team=${team} page 2`,
      path: `/v1/deployments?limit=${limit}&owner_team=${team}&cursor=${encodeURIComponent(cursor)}`,
      shape: { name: "team page 2", owner_team: team, after: decodeCursor(cursor), limit: limit + 1 },
    });
  }
  const results: ReadFigures[] = [];
  for (const query of queries) {
    shapes.push(query.shape);
    log(
      `\n(b) ${query.name}: GET ${query.path.slice(0, 90)}${query.path.length > 90 ? "..." : ""}\n` +
        `    ${flags["read-connections"]} connections, ${flags["read-rounds"]} rounds x ${flags["read-seconds"]} s each (floor, then tenure), after a 1 s warm-up each`,
    );
    const page = await getPage(tenure, query.path, auth);
    await storeFloorPage(floor, query.path, page);
    const request: LoadRequest = { method: "GET", path: query.path, headers: auth };
    for (const server of [floor, tenure]) {
      await runLoad({
        label: "warm-up",
        url: server.url,
        connections: flags["read-connections"],
        request,
        seconds: 1,
      });
    }
    const sides = { tenure: [] as RoundFigures[], floor: [] as RoundFigures[] };
    const from = monotonicMicros();
    for (let r = 0; r < flags["read-rounds"]; r++) {
      for (const server of [floor, tenure]) {
        const figures = await measuredLoad(server, setup, {
          label: `${server.name} read round ${r + 1}/${flags["read-rounds"]}`,
          connections: flags["read-connections"],
          request,
          seconds: flags["read-seconds"],
        });
        sides[server.name as "tenure" | "floor"].push(figures);
        report(server, figures);
      }
    }
    setup.phases[query.name] = { from_us: from, to_us: monotonicMicros() };
    const tenureSide = side(sides.tenure);
    const floorSide = side(sides.floor);
    const p99Ratio = tenureSide.median_p99_ms / floorSide.median_p99_ms;
    results.push({
      name: query.name,
      path: query.path,
      page_items: page.items.length,
      connections: flags["read-connections"],
      seconds_per_round: flags["read-seconds"],
      tenure: tenureSide,
      floor: floorSide,
      p50_ratio: tenureSide.median_p50_ms / floorSide.median_p50_ms,
      p99_ratio: p99Ratio,
      target_max_p99_ratio: TARGETS.max_read_p99_ratio,
      met: p99Ratio <= TARGETS.max_read_p99_ratio,
    });
  }
  return results;
}

/** Runs one load against one server, measuring the server's and the machine's CPU meanwhile. */
async function measuredLoad(
  server: ChildServer,
  setup: Setup,
  options: { label: string; connections: number; request: LoadRequest; amount?: number; seconds?: number },
): Promise<RoundFigures> {
  await setup.gate.wait();
  // PostgreSQL's backends are processes named `postgres`; SQLite runs inside the server.
  const cpu = new CpuWindow(server.pid, setup.dialect === "postgres" ? "postgres" : undefined);
  const result = await runLoad({ ...options, url: server.url, progress: true });
  const usage = cpu.end();
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `${server.name}: ${result.non2xx} non-2xx responses and ${result.errors} errors ` +
        `(${JSON.stringify(result.status_codes)}) in "${options.label}"; see the server log. stderr:\n${server.stderrTail()}`,
    );
  }
  return { ...result, ...usage };
}

function side(rounds: RoundFigures[]): SideFigures {
  return {
    rounds,
    median_req_per_s: median(rounds.map((r) => r.req_per_s)),
    median_p50_ms: median(rounds.map((r) => r.p50_ms)),
    median_p99_ms: median(rounds.map((r) => r.p99_ms)),
    median_server_cpu_pct: median(rounds.map((r) => r.server_cpu_pct)),
    median_bench_cpu_pct: median(rounds.map((r) => r.bench_cpu_pct)),
    median_db_cpu_pct: median(rounds.map((r) => r.db_cpu_pct)),
    median_rest_cpu_pct: median(rounds.map((r) => r.rest_cpu_pct)),
  };
}

function report(server: ChildServer, f: RoundFigures): void {
  log(
    `  ${server.name.padEnd(6)} ${f.ok.toLocaleString("en-US")} ok in ${f.seconds.toFixed(1)} s: ` +
      `${Math.round(f.req_per_s).toLocaleString("en-US")} req/s, p50 ${f.p50_ms.toFixed(2)} ms, ` +
      `p99 ${f.p99_ms.toFixed(2)} ms; CPU (% of a core) server ${Math.round(f.server_cpu_pct)}, ` +
      `bench ${Math.round(f.bench_cpu_pct)}, db ${Math.round(f.db_cpu_pct)}, rest ${Math.round(f.rest_cpu_pct)}`,
  );
}

interface Page {
  items: unknown[];
  next_cursor: string | null;
}

async function getPage(server: ChildServer, path: string, auth: Record<string, string>): Promise<Page> {
  const response = await fetch(`${server.url}${path}`, { headers: auth });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Page;
}

async function storeFloorPage(floor: ChildServer, url: string, page: Page): Promise<void> {
  const response = await fetch(`${floor.url}/floor/pages`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url, page }),
  });
  if (response.status !== 204) throw new Error(`floor refused the page: ${response.status}`);
}

/** The (deployment_date, id) a next_cursor encodes (src/registry/deployment-list.ts), for the census's plan. */
function decodeCursor(cursor: string): [number, number] {
  return JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [number, number];
}
