import { formatDuration, shortTime } from "../../format";
import type { ModelEvent } from "./model-types";

const text = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
const because = (v: unknown) => (text(v) ? `: ${text(v)}` : "");

/**
 * An event as a sentence a person reads ("3.0.0 superseded by 3.1.0", "reviewed by alice:
 * extended 30d"). `versionOf` names the deployments an event points at by id.
 */
export function eventLabel(e: ModelEvent, versionOf: (id: number) => string | undefined): string {
  const d = e.data;
  const version = text(d.model_version) ?? "";
  const other = (key: string) => {
    const id = num(d[key]);
    return id === null ? null : (versionOf(id) ?? `deployment ${id}`);
  };
  switch (e.type) {
    case "deployed": {
      const role = text(d.role) ?? "primary";
      if (num(d.rollback_of) !== null)
        return `${version} deployed again as the rollback of ${other("rollback_of")}${because(d.reason)}`;
      const superseding = other("supersedes");
      return `${version} deployed as ${role}${superseding ? `, superseding ${superseding}` : ""}`;
    }
    case "scheduled":
      return `${version} scheduled to become ${text(d.role) ?? "primary"} on ${shortTime(text(d.scheduled_at))}`;
    case "promoted": {
      const superseding = other("supersedes");
      return `${version} promoted from ${text(d.from_role) ?? "scheduled"} to primary${superseding ? `, superseding ${superseding}` : ""}${because(d.reason)}`;
    }
    case "superseded":
      return `${version} superseded by ${other("superseded_by") ?? "a newer primary"}${because(d.reason)}`;
    case "rolled_back":
      return `${version} rolled back to ${text(d.to_version) ?? other("rolled_back_to") ?? "the golden version"}${because(d.reason)}`;
    case "retired":
      return d.cancelled_promotion
        ? `scheduled promotion of ${version} cancelled${because(d.reason)}`
        : `${version} retired${because(d.reason)}`;
    case "golden_set":
      return `golden version set to ${version}`;
    case "reviewed": {
      const extend = num(d.extend_seconds);
      const extended = extend ? `extended ${formatDuration(extend)}` : "kept as it is";
      const note = text(d.note) ? ` (“${text(d.note)}”)` : "";
      return `${version} reviewed by ${e.actor}: ${extended}${note}`;
    }
    case "canary_promoted":
      return d.primary === true
        ? `canary ${version} promoted to primary`
        : `canary ${version} advanced to ${num(d.weight) ?? "?"}% of traffic`;
    case "canary_paused":
      return `canary ${version} paused after ${num(d.inconclusive_streak) ?? "several"} inconclusive analyses`;
    case "canary_rolled_back":
      return `canary ${version} rolled back${because(d.reason)}`;
    case "drift_error":
      return `drift of ${version || "a deployment"} could not be judged${because(d.message)}`;
    default:
      return `${version ? `${version} ` : ""}${e.type.replaceAll("_", " ")}`;
  }
}

/** The word that tags an event in the list, in colour and word. */
export function eventTone(type: string): "ok" | "warn" | "bad" | "info" | "none" {
  if (type === "rolled_back" || type === "canary_rolled_back" || type === "drift_error") return "bad";
  if (type === "reviewed" || type === "canary_paused" || type === "scheduled") return "warn";
  if (type === "deployed" || type === "promoted" || type === "canary_promoted" || type === "golden_set")
    return "ok";
  if (type === "superseded" || type === "retired") return "none";
  return "info";
}
