/**
 * The sweep benchmark's fleet and policies: COUNT live deployments written straight into the
 * tables (registering 100,000 through the registry would take minutes and measure the registry),
 * and a policy file of 50 policies that match them by model prefix, environment, team and tags.
 * Deterministic: the same count and evaluation time give the same fleet every run.
 */
import { sql } from "kysely";
import { openDatabase } from "../../dist/store/database.js";
import { migrateToLatest } from "../../dist/store/migrate.js";

const DAY_MS = 86_400_000;

/** 5 tiers × 10 regions: 50 environments, each (model, environment) pair deployed once. */
const TIERS = ["production", "staging", "qa", "perf", "dev"] as const;
const REGIONS = [
  "us-east",
  "us-west",
  "us-central",
  "eu-west",
  "eu-central",
  "eu-north",
  "ap-south",
  "ap-east",
  "ap-north",
  "sa-east",
] as const;
export const ENVIRONMENTS = TIERS.flatMap((tier) => REGIONS.map((region) => `${tier}-${region}`));

const FAMILIES = [
  "fraud",
  "churn",
  "ranker",
  "pricing",
  "ads-ctr",
  "search",
  "recsys",
  "credit-risk",
  "forecast",
  "nlp-intent",
  "vision-qc",
  "support-triage",
  "eta",
  "supply",
  "kyc",
  "aml",
  "ltv",
  "anomaly",
  "translate",
  "speech",
] as const;
const ALGORITHMS = ["gbm", "dnn", "xgb", "logreg"] as const;
const TEAMS = [
  "risk-ml",
  "growth-ml",
  "search-ml",
  "pricing-ml",
  "ads-ml",
  "recs-ml",
  "credit-ml",
  "planning-ml",
  "nlp-ml",
  "vision-ml",
  "ops-ml",
  "compliance-ml",
] as const;

/** Deployments are spread evenly over this many days before the evaluation time. */
export const MAX_AGE_DAYS = 400;

/** What the seeded fleet holds, counted as it was written. */
export interface FleetCensus {
  deployments: number;
  models: number;
  environments: number;
  by_role: Record<string, number>;
  with_tags: number;
  with_ttl_extension: number;
}

/** mulberry32: a small seeded PRNG, so a run's fleet is the same every time. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function modelName(index: number): string {
  const family = FAMILIES[index % FAMILIES.length];
  const serial = Math.floor(index / FAMILIES.length);
  return `${family}-${ALGORITHMS[serial % ALGORITHMS.length]}-${String(serial).padStart(3, "0")}`;
}

function teamOf(modelIndex: number): string {
  return TEAMS[(modelIndex % FAMILIES.length) % TEAMS.length] as string;
}

function tagsFor(draw: number): string {
  if (draw < 0.12) return '{"tier":"critical"}';
  if (draw < 0.2) return '{"pii":"true"}';
  if (draw < 0.24) return '{"stable":"true"}';
  if (draw < 0.3) return '{"tier":"critical","pii":"true"}';
  return "{}";
}

/**
 * Creates the schema (Tenure's own migrations) and writes COUNT live deployments over
 * ceil(COUNT / 50) models × 50 environments: deployment k is model ⌊k/50⌋ in environment k mod 50,
 * so no pair has two live primaries (the unique index); 80% primaries, 10% shadows, 10%
 * canaries. Deployed 0–400 days before `at`, trained on data 1–120 days older than that; 30% carry
 * tags, 5% a review's TTL extension. Everything in one transaction, in multi-row inserts.
 */
export async function seedFleet(url: string, count: number, at: number): Promise<FleetCensus> {
  const database = openDatabase(url, { poolSize: 1 });
  const { db } = database;
  try {
    await migrateToLatest(database);
    // SQLite allows 32,766 parameters per statement, PostgreSQL 65,535.
    const maxParams = database.dialect === "sqlite" ? 32_766 : 65_535;
    const next = random(20_261_125);
    const modelCount = Math.ceil(count / ENVIRONMENTS.length);
    const census: FleetCensus = {
      deployments: count,
      models: modelCount,
      environments: ENVIRONMENTS.length,
      by_role: { primary: 0, shadow: 0, canary: 0 },
      with_tags: 0,
      with_ttl_extension: 0,
    };
    await db.transaction().execute(async (trx) => {
      const models = Array.from({ length: modelCount }, (_, m) => ({
        name: modelName(m),
        owner_team: teamOf(m),
        created_at: at - (MAX_AGE_DAYS + 200) * DAY_MS,
      }));
      for (const batch of batches(models, Math.floor(maxParams / 3))) {
        await trx.insertInto("models").values(batch).execute();
      }
      const versions: {
        model: string;
        model_version: string;
        training_data_cutoff: number;
        created_at: number;
      }[] = [];
      const deployments = [];
      for (let k = 0; k < count; k++) {
        const m = Math.floor(k / ENVIRONMENTS.length);
        const e = k % ENVIRONMENTS.length;
        const model = modelName(m);
        const environment = ENVIRONMENTS[e] as string;
        const deploymentDate = at - Math.floor(next() * MAX_AGE_DAYS * DAY_MS);
        const cutoff = deploymentDate - Math.floor((1 + next() * 119) * DAY_MS);
        const modelVersion = `${1 + (e % 5)}.${Math.floor(e / 5)}.${m % 7}`;
        const role = k % 10 === 3 ? "shadow" : k % 10 === 7 ? "canary" : "primary";
        const tags = tagsFor(next());
        const extension = next() < 0.05 ? 30 * 86_400 : 0;
        census.by_role[role] = (census.by_role[role] ?? 0) + 1;
        if (tags !== "{}") census.with_tags++;
        if (extension > 0) census.with_ttl_extension++;
        versions.push({
          model,
          model_version: modelVersion,
          training_data_cutoff: cutoff,
          created_at: cutoff,
        });
        deployments.push({
          model,
          model_version: modelVersion,
          environment,
          owner_team: teamOf(m),
          role: role as "primary" | "shadow" | "canary",
          status: "active" as const,
          deployment_date: deploymentDate,
          training_data_cutoff: cutoff,
          ended_at: null,
          endpoint: role === "primary" ? `https://serve.internal/${model}/${environment}` : null,
          tags,
          ttl_extension_seconds: extension,
          created_at: deploymentDate,
          created_by: "bench",
        });
      }
      // Each (model, environment) is deployed once, so one version per deployment is unique.
      for (const batch of batches(versions, Math.floor(maxParams / 4))) {
        await trx.insertInto("model_versions").values(batch).execute();
      }
      for (const batch of batches(deployments, Math.floor(maxParams / 14))) {
        await trx.insertInto("deployments").values(batch).execute();
      }
    });
    // A fleet of this size has had its statistics gathered long before a sweep runs; right
    // after a bulk load PostgreSQL has none yet (autovacuum gets to it within a minute or so).
    if (database.dialect === "postgres") await sql`vacuum analyze`.execute(db);
    return census;
  } finally {
    await database.close();
  }
}

function* batches<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** A webhook on the discard port: the dispatcher is never started, so nothing is sent anyway. */
const NOWHERE = "http://127.0.0.1:9";

const MAX_AGES = ["90d", "120d", "180d", "240d", "300d", "365d"] as const;
const REVIEW_AT = [0.6, 0.65, 0.7, 0.75, 0.8] as const;
const DATA_AGES = ["180d", "270d", "365d"] as const;

interface PolicySpec {
  name: string;
  match: { model?: string; environment?: string; owner_team?: string; tags?: Record<string, string> };
  max_age?: string;
  review_at?: number;
  max_data_age?: string;
  exempt?: boolean;
  reason?: string;
}

/**
 * 50 policies over the fleet: one per model family (20), per environment tier (5), per family in
 * production (10), per team in production (8), on tags (5, one exempt) and on two exact models.
 * Every policy takes the defaults' routes: due and expired findings go to an ops webhook (expired
 * also to Slack), stale data to an audit webhook; none of it is sent, only queued.
 */
export function policyYaml(): string {
  const specs: PolicySpec[] = [];
  FAMILIES.forEach((family, i) => {
    specs.push({
      name: `${family}-models`,
      match: { model: `${family}-*` },
      max_age: MAX_AGES[i % MAX_AGES.length],
      review_at: REVIEW_AT[i % REVIEW_AT.length],
      ...(i % 3 === 0 ? { max_data_age: DATA_AGES[i % DATA_AGES.length] } : {}),
    });
  });
  TIERS.forEach((tier, i) => {
    specs.push({
      name: `${tier}-environments`,
      match: { environment: `${tier}-*` },
      max_age: ["180d", "240d", "300d", "365d", "365d"][i],
    });
  });
  FAMILIES.slice(0, 10).forEach((family, i) => {
    specs.push({
      name: `${family}-production`,
      match: { model: `${family}-*`, environment: "production-*" },
      max_age: MAX_AGES[(i + 1) % 4],
      review_at: 0.7,
      max_data_age: DATA_AGES[i % DATA_AGES.length],
    });
  });
  TEAMS.slice(0, 8).forEach((team, i) => {
    specs.push({
      name: `${team}-production`,
      match: { owner_team: team, environment: "production-*" },
      max_age: MAX_AGES[i % 4],
      review_at: REVIEW_AT[(i + 2) % REVIEW_AT.length],
    });
  });
  specs.push(
    { name: "critical-fraud", match: { model: "fraud-*", tags: { tier: "critical" } }, max_age: "60d" },
    {
      name: "critical-production",
      match: { environment: "production-*", tags: { tier: "critical" } },
      max_age: "90d",
    },
    {
      name: "pii-eu",
      match: { environment: "*-eu-*", tags: { pii: "true" } },
      max_age: "120d",
      max_data_age: "180d",
    },
    { name: "pii", match: { tags: { pii: "true" } }, max_age: "180d", max_data_age: "270d" },
    {
      name: "stable-models",
      match: { tags: { stable: "true" } },
      exempt: true,
      reason: "rule-based scorers that do not drift",
    },
    {
      name: "fraud-gbm-000-us",
      match: { model: "fraud-gbm-000", environment: "production-us-east" },
      max_age: "30d",
    },
    {
      name: "churn-dnn-001-eu",
      match: { model: "churn-dnn-001", environment: "production-eu-west" },
      max_age: "45d",
    },
  );
  const lines = [
    "# Written by the sweep benchmark (bench/lib/sweep-workload.ts).",
    "channels:",
    "  ops-hook:",
    "    type: webhook",
    `    url: ${NOWHERE}/ops`,
    "  audit-hook:",
    "    type: webhook",
    `    url: ${NOWHERE}/audit`,
    "  oncall:",
    "    type: slack",
    `    url: ${NOWHERE}/slack`,
    "defaults:",
    "  max_age: 90d",
    "  review_at: 0.8",
    "  notify:",
    "    due: [ops-hook]",
    "    expired: [ops-hook, oncall]",
    "    data_stale: [audit-hook]",
    "policies:",
  ];
  for (const spec of specs) {
    lines.push(`  - name: ${spec.name}`, "    match:");
    for (const field of ["model", "environment", "owner_team"] as const) {
      const value = spec.match[field];
      if (value !== undefined) lines.push(`      ${field}: "${value}"`);
    }
    if (spec.match.tags) {
      lines.push("      tags:");
      for (const [key, value] of Object.entries(spec.match.tags)) lines.push(`        ${key}: "${value}"`);
    }
    if (spec.exempt) lines.push("    exempt: true", `    reason: ${spec.reason}`);
    if (spec.max_age) lines.push(`    max_age: ${spec.max_age}`);
    if (spec.review_at !== undefined) lines.push(`    review_at: ${spec.review_at}`);
    if (spec.max_data_age) lines.push(`    max_data_age: ${spec.max_data_age}`);
  }
  if (specs.length !== 50)
    throw new Error(`the sweep bench's policy file has ${specs.length} policies, not 50`);
  return `${lines.join("\n")}\n`;
}
