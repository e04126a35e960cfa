/**
 * What the load benchmark (bench/load.ts) sends: the fleet registered first, the read and write
 * requests cycled under load, the answers the peer serves, and the token it all runs under.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type autocannon from "autocannon";
import { ROOT } from "./bench-run.js";

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

export function readRequests(headers: Record<string, string>, ids: number[]): autocannon.Request[] {
  return [
    { method: "GET", path: "/v1/deployments?limit=50", headers },
    {
      method: "GET",
      path: "/v1/deployments/1",
      headers,
      setupRequest: (r) => ({ ...r, path: `/v1/deployments/${pick(ids)}` }),
    },
    { method: "GET", path: "/v1/fleet", headers },
  ];
}

export function writeRequests(headers: Record<string, string>, ids: number[]): autocannon.Request[] {
  let n = 0;
  return [
    {
      method: "POST",
      path: "/v1/deployments",
      headers,
      setupRequest: (r) => {
        n++;
        return {
          ...r,
          body: JSON.stringify({
            model: `load-${n % 300}`,
            model_version: `v${n}`,
            training_data_cutoff: "2026-01-01T00:00:00.000Z",
            owner_team: `team-${n % 10}`,
          }),
        };
      },
    },
    {
      method: "POST",
      path: "/v1/deployments/1/metrics",
      headers,
      setupRequest: (r) => ({
        ...r,
        path: `/v1/deployments/${pick(ids)}/metrics`,
        body: JSON.stringify({ points: [{ name: "auc", value: 0.8 + Math.random() / 10 }] }),
      }),
    },
    {
      method: "POST",
      path: "/v1/deployments/1/heartbeat",
      headers,
      setupRequest: (r) => ({ ...r, path: `/v1/deployments/${pick(ids)}/heartbeat`, body: "{}" }),
    },
  ];
}

export async function seedFleet(
  url: string,
  headers: Record<string, string>,
  count: number,
): Promise<number[]> {
  const ids: number[] = [];
  const worker = async (start: number) => {
    for (let n = start; n < count; n += 8) {
      const res = await fetch(`${url}/v1/deployments`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          model: `seed-${n}`,
          model_version: "1",
          training_data_cutoff: "2026-01-01T00:00:00.000Z",
          owner_team: `team-${n % 10}`,
        }),
      });
      if (res.status !== 201) throw new Error(`seeding: ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { id: number }).id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)));
  return ids;
}

/** The peer answers each read with what Tenure answered to it: same bytes on the wire. */
export async function storePeerAnswers(
  tenureUrl: string,
  peerUrl: string,
  headers: Record<string, string>,
  id: number,
): Promise<void> {
  const routes = { list: "/v1/deployments?limit=50", one: `/v1/deployments/${id}`, fleet: "/v1/fleet" };
  for (const [route, path] of Object.entries(routes)) {
    const answer = await (await fetch(`${tenureUrl}${path}`, { headers })).json();
    const res = await fetch(`${peerUrl}/floor/answers`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ route, answer }),
    });
    if (res.status !== 204) throw new Error(`peer refused the ${route} answer: ${res.status}`);
  }
}

export async function createToken(databaseUrl: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["bin/tenure.js", "token", "create", "--scope", "write", "--name", "load", "--database", databaseUrl],
    { cwd: ROOT },
  );
  const token = stdout.trim();
  if (!/^tnr_[A-Za-z0-9_-]+$/.test(token)) throw new Error(`tenure token create printed ${stdout}`);
  return token;
}

/** Reads `GET /metrics` every `seconds`, as a Prometheus would; counts the scrapes and those that failed. */
export function scrapeEvery(url: string, headers: Record<string, string>, seconds: number) {
  const counts = { scrapes: 0, failed: 0 };
  const scrape = async () => {
    try {
      const res = await fetch(`${url}/metrics`, { headers, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (!res.ok) counts.failed++;
    } catch {
      counts.failed++;
    }
    counts.scrapes++;
  };
  const timer = seconds > 0 ? setInterval(() => void scrape(), seconds * 1000) : undefined;
  return { counts, stop: () => clearInterval(timer) };
}
