import type { Context } from "../context.js";
import { hashSeed, seededRandom } from "../core/reservoir.js";
import type { Actor } from "../registry/actor.js";
import type { Registry } from "../registry/registry.js";
import type { Progress } from "./progress.js";

const DAY = 86_400_000;

/** Model families by team: what a large organisation's fleet is made of. */
const FAMILIES: [family: string, team: string][] = [
  ["fraud", "risk"],
  ["aml", "risk"],
  ["credit", "risk"],
  ["churn", "growth"],
  ["ltv", "growth"],
  ["recs", "growth"],
  ["bid", "ads"],
  ["pacing", "ads"],
  ["query", "search"],
  ["rank", "search"],
  ["anomaly", "platform"],
  ["capacity", "platform"],
  ["eta", "logistics"],
  ["routing", "logistics"],
  ["pricing", "market"],
  ["match", "market"],
];
const ALGORITHMS = ["gbm", "xgb", "dnn", "lr", "rf", "bert", "tcn", "gnn"];
const ENVIRONMENTS = ["production", "production", "production", "eu-production", "staging"];

/** Registrations in flight at once: the registry commits them in batches (its group commit). */
const CHUNK = 512;

/**
 * Fills the demo fleet up to `size` live deployments with generated models, for measuring the
 * dashboard and the API at scale (`tenure demo --fleet-size 10000`). Each model serves in one
 * environment, so none supersedes another; ages run from a day to over a year, and some get a
 * few days of metrics so their performance is judged. Returns how many it registered.
 */
export async function fillDemoFleet(
  context: Context,
  registry: Registry,
  size: number,
  now: number,
  progress?: Progress,
): Promise<number> {
  const actor: Actor = { name: "demo", key_scope: "demo", team: null };
  const live = await context.stores.deployments.liveDeployments(0, size);
  const wanted = Math.max(0, size - live.length);
  const random = seededRandom(hashSeed("demo fleet filler"));
  let registered = 0;
  progress?.start("fleet   ", wanted);
  for (let start = 0; start < wanted; start += CHUNK) {
    const chunk = Array.from({ length: Math.min(CHUNK, wanted - start) }, (_, k) =>
      fillerBody(start + k, random, now),
    );
    const results = await Promise.all(chunk.map(({ body }) => registry.register(body, actor)));
    registered += results.length;
    progress?.increment(results.length);
    await Promise.all(
      results.map(({ deployment }, k) => {
        const evidence = chunk[k]?.evidence;
        if (!evidence) return undefined;
        const points = [3, 2, 1].map((daysAgo) => ({
          name: "auc",
          value: evidence + (random() - 0.5) * 0.01,
          timestamp: now - daysAgo * DAY + DAY / 2,
          sample_size: 1200,
        }));
        return context.lifecycle.recordMetrics(deployment.id, actor, points);
      }),
    );
  }
  return registered;
}

function fillerBody(n: number, random: () => number, now: number) {
  const [family, team] = FAMILIES[n % FAMILIES.length] as [string, string];
  const algorithm = ALGORITHMS[Math.floor(n / FAMILIES.length) % ALGORITHMS.length] as string;
  const serial = Math.floor(n / (FAMILIES.length * ALGORITHMS.length));
  const environment = ENVIRONMENTS[Math.floor(random() * ENVIRONMENTS.length)] as string;
  // Against the default 90-day TTL: most are fresh, some due for review, a tail well past it.
  const u = random();
  const tail = (u - 0.85) / 0.15;
  const ageDays = Math.ceil(
    u < 0.7 ? (u / 0.7) * 70 : u < 0.85 ? 72 + (u - 0.7) * 120 : 90 + tail * tail * 330,
  );
  const dataLagDays = 2 + Math.floor(random() * 80);
  const deployed = now - ageDays * DAY - Math.floor(random() * DAY);
  const baseline = 0.8 + random() * 0.15;
  const body = {
    model: `${family}-${algorithm}-${String(serial).padStart(3, "0")}`,
    model_version: `${1 + Math.floor(random() * 9)}.${Math.floor(random() * 20)}.${Math.floor(random() * 5)}`,
    environment,
    owner_team: team,
    role: "primary" as const,
    training_data_cutoff: new Date(deployed - dataLagDays * DAY).toISOString(),
    deployment_date: new Date(deployed).toISOString(),
    endpoint: `http://${family}-${algorithm}-${serial}.${environment}.svc.internal:8080/predict`,
    baseline_metrics: { auc: baseline },
  };
  // A third get metrics, the older ones further below their baseline.
  const evidence = random() < 0.33 ? baseline - random() * 0.12 * Math.min(1, ageDays / 300) : undefined;
  return { body, evidence };
}
