import type { DatasetDrift } from "./drift/compare.js";
import type { Finding } from "./finding.js";

/** The drift state of a deployment whose inputs the last sweep could not compare; its `drift_error` event says why. */
export const DRIFT_ERROR_STATE = "error";

/** One verdict for a deployment's inputs: drifted when the dataset drifted, possible when a feature leans that way. */
export function driftStateOf(result: DatasetDrift): "stable" | "possible" | "drifted" {
  if (result.dataset_drift) return "drifted";
  return result.columns.some((c) => c.state !== "stable") ? "possible" : "stable";
}

/**
 * The `drifted` finding of a dataset comparison: when the share of drifted features reaches the
 * policy's `drift_share`, naming each drifted feature with its method, statistic, p-value or
 * score, threshold and sample sizes. A drifted deployment is stale whatever its age.
 */
export function driftFinding(result: DatasetDrift, name: string, policy: string): Finding | undefined {
  if (!result.dataset_drift) return undefined;
  const drifted = result.columns.filter((c) => c.state === "drifted");
  const round = (x: number | null) => (x === null ? null : Number(x.toPrecision(6)));
  const percent = Math.round(result.drifted_share * 100);
  return {
    kind: "drifted",
    severity: "error",
    summary: `${name} has drifted inputs: ${drifted.length} of ${result.columns.length} features (${percent}%): ${drifted
      .slice(0, 5)
      .map((c) => c.column)
      .join(", ")}${drifted.length > 5 ? ", …" : ""}`,
    detail: {
      drifted_share: round(result.drifted_share),
      drift_share: result.drift_share,
      benjamini_hochberg: result.benjamini_hochberg,
      features: drifted.map((c) => ({
        feature: c.column,
        kind: c.kind,
        method: c.method,
        statistic: round(c.statistic),
        p_value: round(c.p_value),
        score: round(c.score),
        threshold: c.threshold,
        noise_floor: round(c.noise_floor),
        reference_size: c.reference_size,
        current_size: c.current_size,
      })),
      policy,
      reason: `${percent}% of its features drifted from the reference, at least the ${Math.round(result.drift_share * 100)}% its policy allows`,
    },
  };
}
