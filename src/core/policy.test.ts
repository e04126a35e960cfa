import { describe, expect, it } from "vitest";
import {
  choosePolicy,
  compilePolicies,
  DEFAULT_DRIFT_POLICY,
  DEFAULT_TTL_SUGGESTION,
  globMatches,
  matchScore,
  type Policy,
  StoredSubject,
  withLearnedTtl,
} from "./policy.js";

const policy = (name: string, match: Policy["match"]): Policy => ({
  name,
  match,
  max_age_seconds: 86_400,
  review_at: 0.8,
  max_data_age_seconds: null,
  silence_after_seconds: null,
  exempt: false,
  reason: null,
  expire_action: "review",
  repeat_interval_seconds: 86_400,
  performance: null,
  drift: DEFAULT_DRIFT_POLICY,
  guardrail: null,
  notify: {},
  max_age_auto: null,
  ttl_suggestion: DEFAULT_TTL_SUGGESTION,
});

const subject = { model: "fraud-gbm", environment: "production", owner_team: "risk", tags: { tier: "1" } };

describe("globMatches", () => {
  it.each([
    ["fraud-*", "fraud-gbm", true],
    ["fraud-*", "fraud-", true],
    ["*-gbm", "fraud-gbm", true],
    ["f*d*m", "fraud-gbm", true],
    ["fraud-*", "afraud-gbm", false],
    ["*", "anything", true],
    ["fraud-gbm", "fraud-gbm", true],
    ["fraud-gbm", "fraud-gbm2", false],
    ["a*a", "a", false],
  ])("%s against %s is %s", (pattern, value, expected) => {
    expect(globMatches(pattern, value)).toBe(expected);
  });
});

describe("choosePolicy", () => {
  const fallback = policy("defaults", {});

  it("weighs an exact field over a wildcard field, wherever they stand", () => {
    const env = policy("prod", { environment: "production" });
    const glob = policy("fraud-any", { model: "fraud-*" });
    const exact = policy("fraud-gbm", { model: "fraud-gbm" });
    expect(choosePolicy([env, glob], subject, fallback).name).toBe("prod");
    expect(matchScore(glob.match, subject)).toBeLessThan(matchScore(exact.match, subject));
    expect(choosePolicy([glob, exact], subject, fallback).name).toBe("fraud-gbm");
    expect(choosePolicy([exact, glob], subject, fallback).name).toBe("fraud-gbm");
  });

  it("adds up fields and tags, and keeps the earlier policy on a tie", () => {
    const a = policy("a", { model: "fraud-*", environment: "production" });
    const b = policy("b", { owner_team: "risk", tags: { tier: "1" } });
    const c = policy("c", { model: "fraud-gbm", owner_team: "risk" });
    expect(choosePolicy([a, b, c], subject, fallback).name).toBe("b");
    expect(choosePolicy([c, b], subject, fallback).name).toBe("c");
  });

  it("falls back to the defaults when nothing matches", () => {
    const other = policy("other", { model: "churn-*" });
    const tagged = policy("tier2", { tags: { tier: "2" } });
    expect(choosePolicy([other, tagged], subject, fallback).name).toBe("defaults");
  });
});

describe("compilePolicies", () => {
  it("chooses exactly as choosePolicy does, over every mix of patterns and tags", () => {
    const patterns = [undefined, "fraud-gbm", "fraud-*", "*-gbm", "f*d*m", "*", "other"];
    const policies: Policy[] = [];
    let n = 0;
    for (const model of patterns)
      for (const environment of [undefined, "production", "prod*"])
        for (const tags of [undefined, { tier: "1" }, { tier: "2" }])
          policies.push(policy(`p${n++}`, { model, environment, tags }));
    const subjects = [
      subject,
      { ...subject, model: "fraud-x" },
      { ...subject, environment: "staging" },
      { ...subject, tags: {} },
      { ...subject, model: "a-gbm", tags: { tier: "2" } },
    ];
    const fallback = policy("defaults", {});
    for (let start = 0; start < policies.length; start += 7) {
      const set = policies.slice(start, start + 9);
      const choose = compilePolicies(set, fallback);
      // Twice: the second time from the per-value memo.
      for (const s of [...subjects, ...subjects]) {
        expect(choose(s).name).toBe(choosePolicy(set, s, fallback).name);
      }
    }
  });

  it("chooses by team too, and the same way once its memo of values has started again", () => {
    const set = [
      policy("risk-prod", { owner_team: "risk", environment: "production" }),
      policy("risk-any", { owner_team: "ri*" }),
      policy("model-7", { model: "model-7" }),
    ];
    const fallback = policy("defaults", {});
    const choose = compilePolicies(set, fallback);
    // More distinct models than the memo keeps: it is cleared on the way, answers do not change.
    for (let round = 0; round < 2; round++) {
      for (let m = 0; m < 10_050; m += round === 0 ? 1 : 997) {
        for (const team of ["risk", "growth"]) {
          const s = { ...subject, model: `model-${m}`, owner_team: team };
          expect(choose(s).name).toBe(choosePolicy(set, s, fallback).name);
        }
      }
    }
  });
});

describe("StoredSubject", () => {
  const readTags = (json: string) => JSON.parse(json) as Record<string, string>;
  it("parses a stored row's tags only when a policy that could win reads them", () => {
    const row = { model: "fraud-gbm", environment: "production", owner_team: "risk", tags: "not json" };
    const byModel = compilePolicies([policy("by-model", { model: "fraud-*" })], policy("defaults", {}));
    expect(byModel(new StoredSubject(row, readTags)).name).toBe("by-model");
    const byTag = compilePolicies([policy("by-tag", { tags: { tier: "1" } })], policy("defaults", {}));
    expect(byTag(new StoredSubject({ ...row, tags: '{"tier":"1"}' }, readTags)).name).toBe("by-tag");
    expect(byTag(new StoredSubject({ ...row, tags: "{}" }, readTags)).name).toBe("defaults");
  });
});

describe("withLearnedTtl", () => {
  const DAY = 86_400;
  const auto: Policy = {
    ...policy("auto", {}),
    max_age_seconds: 90 * DAY,
    max_age_auto: { min_seconds: 14 * DAY, max_seconds: 180 * DAY, fallback_seconds: 90 * DAY },
  };

  it("takes the learned TTL within the policy's bounds", () => {
    expect(withLearnedTtl(auto, 40 * DAY)).toMatchObject({
      max_age_seconds: 40 * DAY,
      ttl_source: "learned",
    });
    expect(withLearnedTtl(auto, 3 * DAY).max_age_seconds).toBe(14 * DAY);
    expect(withLearnedTtl(auto, 365 * DAY).max_age_seconds).toBe(180 * DAY);
  });

  it("falls back without a learned TTL, and never yields NaN", () => {
    expect(withLearnedTtl(auto, null)).toMatchObject({ max_age_seconds: 90 * DAY, ttl_source: "fallback" });
    expect(withLearnedTtl(auto, Number.NaN).max_age_seconds).toBe(90 * DAY);
  });

  it("leaves a policy with a fixed max_age as it is", () => {
    const fixed = policy("fixed", {});
    expect(withLearnedTtl(fixed, 5 * DAY)).toBe(fixed);
  });
});
