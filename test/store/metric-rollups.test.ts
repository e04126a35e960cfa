import fc, { type Arbitrary } from "fast-check";
import { describe, expect, it } from "vitest";
import type { WindowAggregate } from "../../src/core/performance.js";
import type { NewMetricPoint } from "../../src/store/metric-store.js";
import { rawWindowAggregates, rollupPlan } from "../../src/store/metric-windows.js";
import { dialects } from "../support/databases.js";
import { contextForSuite, registerFleet } from "../support/seeding.js";

/*
 * Windows of whole hours are read from the roll-ups the database keeps on ingest (daily ones for
 * windows of whole days, hourly ones for the rest and for the partial days); every other window,
 * and the partial hours at a range's ends, from the raw points. These tests hold the roll-up
 * answer to the raw one — the computation before roll-ups, a SQL scan of every point — for
 * random points delivered in random batches (late labels for old hours, retries of the same
 * timestamp, corrections, points before the epoch), random window lengths and random ranges,
 * on hour boundaries or not. Counts must match exactly; sums to the rounding of adding the same
 * terms in another order. FUZZ_SEED replays another seed.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x0015);
const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const START_DAY = Date.parse("2026-01-01T00:00:00.000Z") / DAY;
const SPAN_DAYS = 30;

/**
 * Few distinct instants a day, some on an hour's start and some inside the hour, so that later
 * batches often hit a stored point's key and an hour often holds several points.
 */
const instant = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.tuple(
      fc.integer({ min: 0, max: SPAN_DAYS - 1 }),
      fc.constantFrom(0, 1, 7, 12, 23),
      fc.constantFrom(0, 0, 1, 30, 59),
    ),
  },
  // Points before the epoch are stored, and never summed.
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.integer({ min: -START_DAY - 2, max: -START_DAY - 1 }),
      fc.constant(3),
      fc.constantFrom(0, 30),
    ),
  },
);
const point = fc.record({
  deployment: fc.integer({ min: 0, max: 1 }),
  name: fc.constantFrom("auc", "loss"),
  at: instant.map(([day, hour, minute]) => (START_DAY + day) * DAY + hour * HOUR + minute * MINUTE),
  value: fc.oneof(
    fc.double({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, 0.9, 0.1, 1),
  ),
  sample_size: fc.integer({ min: 1, max: 10_000 }),
});
const batches = fc.array(fc.array(point, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 6 });
const windowMs = fc.constantFrom(
  DAY,
  2 * DAY,
  7 * DAY,
  30 * DAY,
  HOUR,
  2 * HOUR,
  6 * HOUR,
  36 * HOUR,
  5 * MINUTE,
  90 * MINUTE,
);
/** An instant within the span or around it: on a day's or an hour's edge, or inside an hour. */
const edge = fc
  .tuple(
    fc.integer({ min: -2, max: SPAN_DAYS + 2 }),
    fc.constantFrom(0, 0, 1, 7, 11.5, 12.25, 23, 23.99),
    fc.constantFrom(0, 0, 1, 30 * MINUTE, HOUR - 1),
  )
  .map(([day, hours, offset]) => (START_DAY + day) * DAY + Math.round(hours * HOUR) + offset);
const range = fc.oneof(
  fc.tuple(fc.constant(0), edge),
  fc.tuple(edge, edge).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]),
);
const query = fc.record({ name: fc.constantFrom("auc", "loss"), windowMs, range });

type Generated<A> = A extends Arbitrary<infer T> ? T : never;

/** The error bound of summing `terms` in any order: n · ε · Σ|term|. */
function tolerance(terms: number[]): number {
  const magnitude = terms.reduce((sum, t) => sum + Math.abs(t), 0);
  return terms.length * Number.EPSILON * magnitude + Number.MIN_VALUE;
}

function sorted(windows: WindowAggregate[] | undefined): WindowAggregate[] {
  return [...(windows ?? [])].sort((a, b) => a.index - b.index);
}

/** Each batch keeps the last of any points that share a key, as a client would send them. */
function deduplicated(
  batch: { name: string; at: number; value: number; sample_size: number }[],
): NewMetricPoint[] {
  const byKey = new Map(batch.map((p) => [`${p.name} ${p.at}`, p]));
  return [...byKey.values()].map((p) => ({
    name: p.name,
    value: p.value,
    timestamp: p.at,
    sample_size: p.sample_size,
  }));
}

describe.each(dialects())("metric roll-ups on %s", (dialect) => {
  const context = contextForSuite(dialect);
  let run = 0;

  /** Two new deployments of their own for each generated case. */
  async function deployments(): Promise<[number, number]> {
    run++;
    return (await registerFleet(context(), 2, { prefix: `rollup-${run}-` })) as [number, number];
  }

  async function deliver(ids: number[], written: number[], delivery: Generated<typeof batches>) {
    for (const batch of delivery) {
      for (const [i, id] of ids.entries()) {
        const points = deduplicated(batch.filter((p) => p.deployment === i));
        written.push(...points.map((p) => p.value * p.sample_size));
        if (points.length > 0) await context().stores.metrics.upsertPoints(id, points, Date.now());
      }
    }
  }

  async function expectSameAnswers(
    ids: number[],
    queries: Generated<typeof query>[],
    written: number[],
    answer = (q: Generated<typeof query>) =>
      rawWindowAggregates(context().database.db, {
        deploymentIds: ids,
        name: q.name,
        windowMs: q.windowMs,
        since: q.range[0],
        before: q.range[1],
      }),
  ) {
    const bound = tolerance(written);
    for (const q of queries) {
      const [since, before] = q.range;
      const rolled = await context().stores.metrics.windowAggregates(ids, q.name, q.windowMs, before, since);
      const raw = await answer(q);
      for (const id of ids) {
        const a = sorted(rolled.get(id));
        const b = sorted(raw.get(id));
        expect(a.map((w) => [w.index, w.samples])).toEqual(b.map((w) => [w.index, w.samples]));
        for (const [i, w] of a.entries()) {
          expect(Math.abs(w.weighted_sum - (b[i] as WindowAggregate).weighted_sum)).toBeLessThanOrEqual(
            bound,
          );
        }
      }
    }
  }

  it("answers every window as the raw points do, for points arriving late, retried and corrected", async () => {
    await fc.assert(
      fc.asyncProperty(
        batches,
        fc.array(query, { minLength: 1, maxLength: 6 }),
        async (delivery, queries) => {
          const ids = await deployments();
          const written: number[] = [];
          await deliver(ids, written, delivery);
          await expectSameAnswers(ids, queries, written);
        },
      ),
      { numRuns: 60, seed: SEED },
    );
  });

  it("keeps answering windows of whole days and whole hours as before when their raw points are pruned", async () => {
    const prunable = query.filter((q) => q.windowMs % HOUR === 0);
    await fc.assert(
      fc.asyncProperty(
        batches,
        fc.array(prunable, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: SPAN_DAYS }),
        async (delivery, queries, cutoffDay) => {
          const ids = await deployments();
          const written: number[] = [];
          await deliver(ids, written, delivery);
          // Ranges from the epoch to past the cutoff: the partial hour at the end, read from
          // points, is one the prune leaves whole.
          const kept = queries.map((q) => ({
            ...q,
            range: [0, (START_DAY + cutoffDay + (q.range[1] % 3)) * DAY + (q.range[1] % HOUR)] as [
              number,
              number,
            ],
          }));
          const before = new Map<string, Map<number, WindowAggregate[]>>();
          for (const q of kept) {
            before.set(
              JSON.stringify(q),
              await context().stores.metrics.windowAggregates(ids, q.name, q.windowMs, q.range[1], 0),
            );
          }
          // Every deployment's points before the cutoff go, these two's among them.
          await context().stores.metrics.prunePoints((START_DAY + cutoffDay) * DAY);
          await expectSameAnswers(
            ids,
            kept,
            written,
            async (q) => before.get(JSON.stringify(q)) ?? new Map(),
          );
        },
      ),
      { numRuns: 25, seed: SEED },
    );
  });

  it("refuses to move a point to another key, which would leave its day's and hour's roll-ups behind", async () => {
    const [id] = await deployments();
    await context().stores.metrics.upsertPoints(
      id,
      [{ name: "auc", value: 0.9, timestamp: START_DAY * DAY, sample_size: 3 }],
      0,
    );
    const { db } = context().database;
    await expect(
      db
        .updateTable("metric_points")
        .set({ timestamp: START_DAY * DAY - DAY })
        .where("deployment_id", "=", id)
        .execute(),
    ).rejects.toThrow(/never change/);
    const rollups = await db
      .selectFrom("metric_rollups")
      .select(["day", "samples"])
      .where("deployment_id", "=", id)
      .execute();
    expect(rollups.map((r) => [Number(r.day), Number(r.samples)])).toEqual([[START_DAY, 3]]);
    const hourly = await db
      .selectFrom("metric_hourly_rollups")
      .select(["hour", "samples"])
      .where("deployment_id", "=", id)
      .execute();
    expect(hourly.map((r) => [Number(r.hour), Number(r.samples)])).toEqual([[START_DAY * 24, 3]]);
  });
});

describe("the roll-up plan", () => {
  it("reads whole days of daily windows from daily roll-ups, whole hours from hourly ones, partial hours from points", () => {
    const at = 10 * DAY + 5 * HOUR + 20 * MINUTE;
    expect(rollupPlan(DAY, 0, at)).toEqual({
      days: { first: 0, end: 10 },
      hours: [{ first: 240, end: 245 }],
      raw: [{ from: 245 * HOUR, to: at }],
    });
    expect(rollupPlan(7 * DAY, 2 * DAY + 1, at)).toEqual({
      days: { first: 3, end: 10 },
      hours: [
        { first: 49, end: 72 },
        { first: 240, end: 245 },
      ],
      raw: [
        { from: 2 * DAY + 1, to: 49 * HOUR },
        { from: 245 * HOUR, to: at },
      ],
    });
    expect(rollupPlan(DAY, -5 * DAY, 3 * DAY)).toEqual({ days: { first: 0, end: 3 }, hours: [], raw: [] });
  });

  it("reads windows of whole hours that are not whole days from hourly roll-ups alone", () => {
    const at = 10 * DAY + 5 * HOUR + 20 * MINUTE;
    expect(rollupPlan(6 * HOUR, 30 * MINUTE, at)).toEqual({
      days: null,
      hours: [{ first: 1, end: 245 }],
      raw: [
        { from: 30 * MINUTE, to: HOUR },
        { from: 245 * HOUR, to: at },
      ],
    });
    expect(rollupPlan(36 * HOUR, 0, 2 * HOUR)).toEqual({
      days: null,
      hours: [{ first: 0, end: 2 }],
      raw: [],
    });
    // A daily window over a range with no whole day: its whole hours.
    expect(rollupPlan(DAY, DAY + 1, 2 * DAY + 5)).toEqual({
      days: null,
      hours: [{ first: 25, end: 48 }],
      raw: [
        { from: DAY + 1, to: 25 * HOUR },
        { from: 2 * DAY, to: 2 * DAY + 5 },
      ],
    });
  });

  it("leaves to the points windows that are not whole hours, and ranges with no whole hour", () => {
    expect(rollupPlan(90 * MINUTE, 0, 10 * DAY)).toBeNull();
    expect(rollupPlan(5 * MINUTE, 0, 10 * DAY)).toBeNull();
    expect(rollupPlan(HOUR, HOUR + 1, 2 * HOUR + 5)).toBeNull();
    expect(rollupPlan(DAY, 5 * HOUR, 5 * HOUR)).toBeNull();
  });
});
