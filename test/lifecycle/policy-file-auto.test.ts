import { describe, expect, it } from "vitest";
import { parsePolicyFile } from "../../src/lifecycle/policy-file.js";

const DAY = 86_400;

function policiesOf(text: string) {
  const result = parsePolicyFile(text, {});
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.file;
}

function errorsOf(text: string) {
  const result = parsePolicyFile(text, {});
  if (result.ok) throw new Error("the file was accepted");
  return result.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
}

describe("max_age: auto in a policy file", () => {
  it("reads the bare word with the suggestion's bounds and the defaults' TTL as the fallback", () => {
    const file = policiesOf(`defaults:
  max_age: 45d
policies:
  - name: learned
    max_age: auto
    lead_time: 10d
    min_suggested: 14d
`);
    const [learned] = file.policies;
    expect(learned).toMatchObject({
      max_age_seconds: 45 * DAY,
      max_age_auto: { min_seconds: 14 * DAY, max_seconds: 365 * DAY, fallback_seconds: 45 * DAY },
      ttl_suggestion: {
        lead_time_seconds: 10 * DAY,
        min_suggested_seconds: 14 * DAY,
        max_suggested_seconds: 365 * DAY,
      },
    });
    expect(file.defaults.max_age_auto).toBeNull();
    expect(file.defaults.ttl_suggestion.lead_time_seconds).toBe(7 * DAY);
  });

  it("reads bounds and a fallback of its own, and passes auto from the defaults to the policies that set no max_age", () => {
    const file = policiesOf(`defaults:
  max_age: { auto: { min: 14d, max: 180d, fallback: 90d } }
policies:
  - name: inherits
    match: { model: "fraud-*" }
  - name: fixed
    match: { model: spell-correct }
    max_age: 30d
`);
    const auto = { min_seconds: 14 * DAY, max_seconds: 180 * DAY, fallback_seconds: 90 * DAY };
    expect(file.defaults).toMatchObject({ max_age_seconds: 90 * DAY, max_age_auto: auto });
    expect(file.policies[0]).toMatchObject({ max_age_seconds: 90 * DAY, max_age_auto: auto });
    expect(file.policies[1]).toMatchObject({ max_age_seconds: 30 * DAY, max_age_auto: null });
  });

  it("refuses bounds that contradict each other and values that are not durations, each where it is written", () => {
    expect(
      errorsOf(`policies:
  - name: a
    max_age: { auto: { min: 200d, max: 180d } }
  - name: b
    max_age: { auto: { min: soon } }
  - name: c
    max_age: automatic
  - name: d
    max_age: { auto: { min: 14d }, extra: 1 }
  - name: e
    min_suggested: 30d
    max_suggested: 14d
`),
    ).toEqual([
      "5:29 policies.1.max_age.auto.min: must be a duration such as 90d, 36h, 2w (units s m h d w), of at most 1000 years",
      "7:14 policies.2.max_age: must be a duration such as 90d, 36h, 2w (units s m h d w), of at most 1000 years, or auto",
      '9:14 policies.3.max_age: Unrecognized key: "extra"',
    ]);
    // Bounds are checked once every value is a duration.
    expect(
      errorsOf(`policies:
  - name: a
    max_age: { auto: { min: 200d, max: 180d } }
  - name: e
    min_suggested: 30d
    max_suggested: 14d
  - name: f
    max_age: auto
    min_suggested: 400d
`),
    ).toEqual([
      "3:29 policies.0.max_age.auto.min: max_age auto: min (200d) must be at most max (180d)",
      "5:20 policies.1.min_suggested: min_suggested (30d) must be at most max_suggested (14d)",
      "9:20 policies.2.min_suggested: min_suggested (400d) must be at most max_suggested (365d)",
      "8:14 policies.2.max_age.auto.min: max_age auto: min (400d) must be at most max (365d)",
    ]);
  });
});
