/**
 * The learned-TTL benchmark: a year of daily sweeps over a synthetic fleet whose truth is known
 * (bench/lib/ttl-replay.ts), served under a fixed 90-day TTL — the peer — and under the TTL each
 * model's own decay curve suggests. It prints, per policy, the days served below target, the
 * retrains, and the forecasts' error against the true crossing ages, then the issue's three
 * targets: days below cut by at least half, no more retrains in total, median forecast error
 * under 20% of the true crossing age. Two more policies add Tenure's `degraded` alert to each,
 * as context, and an oracle that knows each version's true crossing bounds what any TTL can do.
 *
 *   npm run bench -- ttl [--days 365] [--fixed-ttl-days 90] [--lead-time-days 7] [--seed N]
 */
import { integer } from "./lib/bench-options.js";
import { defineBench, runFacts, startRun, writeResult } from "./lib/bench-run.js";
import { log } from "./lib/log.js";
import { round } from "./lib/stats.js";
import {
  DEFAULT_REPLAY,
  type PolicyOutcome,
  REPLAY_POLICIES,
  replayFleet,
  SYNTHETIC_FLEET,
  trueCrossing,
} from "./lib/ttl-replay.js";

const OPTIONS = {
  days: { schema: integer(30, 3650).default(365), value: "N", help: "days of daily sweeps" },
  "fixed-ttl-days": {
    schema: integer(1, 3650).default(90),
    value: "N",
    help: "the peer's fixed TTL, also the learned policy's fallback",
  },
  "lead-time-days": { schema: integer(0, 365).default(7), value: "N", help: "how long a retrain takes" },
  seed: { schema: integer(0).default(DEFAULT_REPLAY.seed), value: "N", help: "the noise's seed" },
};

export const ttlBench = defineBench("ttl", OPTIONS, async (flags) => {
  const started = Date.now();
  const build = startRun();
  const options = {
    ...DEFAULT_REPLAY,
    days: flags.days,
    fixed_ttl_days: flags["fixed-ttl-days"],
    lead_time_days: flags["lead-time-days"],
    seed: flags.seed,
  };
  log(
    `replaying ${SYNTHETIC_FLEET.length} models × ${options.days} daily sweeps under ${REPLAY_POLICIES.length} policies…`,
  );
  const { outcomes, summaries } = replayFleet(SYNTHETIC_FLEET, options);
  log("\nper model: days below target / retrains / TTL on the last day");
  const header = ["model", "kind", "true crossing", ...REPLAY_POLICIES];
  const rows = SYNTHETIC_FLEET.map((m) => {
    const crossing = trueCrossing(m, m.start);
    const cell = (o: PolicyOutcome | undefined) =>
      o ? `${o.days_below_target} / ${o.retrains} / ${round(o.last_ttl_days, 0)}d` : "";
    return [
      m.name,
      m.kind,
      crossing === null ? "never" : `${round(crossing, 0)}d`,
      ...REPLAY_POLICIES.map((p) => cell(outcomes.find((o) => o.model === m.name && o.policy === p))),
    ];
  });
  log(table([header, ...rows]));
  const byPolicy = new Map(summaries.map((s) => [s.policy, s]));
  log("\nthe fleet:");
  log(
    table([
      ["policy", "days below target", "retrains", "median forecast error", "forecasts"],
      ...summaries.map((s) => [
        s.policy,
        String(s.days_below_target),
        String(s.retrains),
        s.median_forecast_error === null ? "—" : `${round(s.median_forecast_error * 100, 1)}%`,
        String(s.forecasts),
      ]),
    ]),
  );
  const fixed = byPolicy.get("fixed");
  const learned = byPolicy.get("learned");
  if (!fixed || !learned) throw new Error("the replay lost a policy");
  const belowRatio = learned.days_below_target / Math.max(1, fixed.days_below_target);
  const retrainRatio = learned.retrains / Math.max(1, fixed.retrains);
  const verdicts = {
    days_below_ratio: round(belowRatio, 3),
    days_below_met: belowRatio <= 0.5,
    retrains_ratio: round(retrainRatio, 3),
    retrains_met: learned.retrains <= fixed.retrains,
    median_forecast_error: learned.median_forecast_error,
    forecast_error_met: learned.median_forecast_error !== null && learned.median_forecast_error < 0.2,
  };
  const mark = (met: boolean) => (met ? "met" : "NOT met");
  log(
    `\nlearned ÷ fixed: days below target ×${verdicts.days_below_ratio} (target ≤ 0.5: ${mark(verdicts.days_below_met)}), ` +
      `retrains ×${verdicts.retrains_ratio} (target ≤ 1: ${mark(verdicts.retrains_met)}), ` +
      `median forecast error ${learned.median_forecast_error === null ? "—" : `${round(learned.median_forecast_error * 100, 1)}%`} ` +
      `(target < 20%: ${mark(verdicts.forecast_error_met)})`,
  );
  const faster = SYNTHETIC_FLEET.filter(
    (m) => (trueCrossing(m, m.start) ?? Infinity) < options.fixed_ttl_days,
  );
  const retrainsOf = (policy: string, models: typeof SYNTHETIC_FLEET) =>
    outcomes
      .filter((o) => o.policy === policy && models.some((m) => m.name === o.model))
      .reduce((s, o) => s + o.retrains, 0);
  const slower = SYNTHETIC_FLEET.filter((m) => !faster.includes(m));
  log(
    `retrains of the ${faster.length} models that cross before ${options.fixed_ttl_days}d: fixed ${retrainsOf("fixed", faster)}, learned ${retrainsOf("learned", faster)}; ` +
      `of the ${slower.length} others: fixed ${retrainsOf("fixed", slower)}, learned ${retrainsOf("learned", slower)}`,
  );
  const oracle = byPolicy.get("oracle");
  if (oracle)
    log(
      `the oracle, which knows each version's true crossing and serves no day below target, retrains ${oracle.retrains} times ` +
        `(fixed ${fixed.retrains}, learned ${learned.retrains}): the fewest retrains with which this fleet stays above target`,
    );
  const file = writeResult("ttl.json", {
    ...runFacts(started, flags),
    build,
    summaries,
    verdicts,
    outcomes,
  });
  log(`\nwrote ${file}`);
});

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
