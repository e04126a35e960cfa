import { describe, expect, it } from "vitest";
import { parsePolicyFile } from "../../src/lifecycle/policy-file.js";

const EXAMPLE = `channels:
  risk-slack: { type: slack, url: "\${RISK_SLACK_WEBHOOK}" }
  risk-oncall: { type: pagerduty, routing_key: "\${PD_ROUTING_KEY}" }
  retrain-fraud: { type: webhook, url: "https://ci.example.com/hooks/retrain", secret: "\${RETRAIN_SECRET}" }
defaults:
  max_age: 90d
  review_at: 0.8
policies:
  - name: fraud-fast
    match: { model: "fraud-*", environment: production }
    max_age: 30d
    review_at: 0.83
    max_data_age: 60d
    notify:
      due: [risk-slack, retrain-fraud]
      expired: [risk-oncall, risk-slack]
      data_stale: [risk-slack]
  - name: spell-check
    match: { model: spell-correct }
    exempt: true
    reason: a dictionary model; it does not drift
`;

const ENV = {
  RISK_SLACK_WEBHOOK: "https://hooks.slack.example/T000/B000/XXX",
  PD_ROUTING_KEY: "0123456789abcdef0123456789abcdef",
  RETRAIN_SECRET: "0123456789abcdef0123",
};

describe("parsePolicyFile", () => {
  it("reads a guardrail, in the defaults or a policy, with its bake in seconds; none unless asked", () => {
    const result = parsePolicyFile(
      `defaults:
  guardrail: { error_rate: 0.05, bake: 1h }
policies:
  - name: strict
    match: { model: fraud-gbm }
    guardrail: { error_rate: 0.01, bake: 30m, min_requests: 500 }
  - name: plain
    match: { model: churn }
`,
      {},
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.file.defaults.guardrail).toEqual({
      error_rate: 0.05,
      bake_seconds: 3600,
      min_requests: 100,
    });
    expect(result.file.policies[0]?.guardrail).toEqual({
      error_rate: 0.01,
      bake_seconds: 1800,
      min_requests: 500,
    });
    // A policy without its own inherits the defaults' guardrail.
    expect(result.file.policies[1]?.guardrail).toEqual(result.file.defaults.guardrail);
    const none = parsePolicyFile("", {});
    expect(none.ok && none.file.defaults.guardrail).toBeNull();
  });

  it("refuses a guardrail without a bake or with an error rate above 1, and routes guardrail and canary alerts", () => {
    const bad = parsePolicyFile(
      `defaults:
  guardrail: { error_rate: 2 }
`,
      {},
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.errors.map((e) => e.message)).toEqual([
        expect.stringMatching(/^defaults\.guardrail\.error_rate: /),
        expect.stringMatching(/^defaults\.guardrail\.bake: /),
      ]);
    const routed = parsePolicyFile(
      `channels:
  oncall: { type: slack, url: "https://hooks.slack.example/x" }
defaults:
  notify: { guardrail: [oncall], canary_failed: [oncall], canary_paused: [oncall] }
`,
      {},
    );
    expect(routed.ok).toBe(true);
  });

  it("reads the documented example, with durations in seconds and variables from the environment", () => {
    const result = parsePolicyFile(EXAMPLE, ENV);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { file } = result;
    expect(file.channels["risk-slack"]).toEqual({ type: "slack", url: ENV.RISK_SLACK_WEBHOOK });
    expect(file.defaults).toMatchObject({ name: "default", max_age_seconds: 90 * 86_400, review_at: 0.8 });
    expect(file.policies[0]).toMatchObject({
      name: "fraud-fast",
      match: { model: "fraud-*", environment: "production" },
      max_age_seconds: 30 * 86_400,
      review_at: 0.83,
      max_data_age_seconds: 60 * 86_400,
      expire_action: "review",
      notify: { due: ["risk-slack", "retrain-fraud"] },
    });
    expect(file.policies[1]).toMatchObject({
      exempt: true,
      reason: "a dictionary model; it does not drift",
      max_age_seconds: 90 * 86_400,
    });
  });

  it("names a missing environment variable with its line and column", () => {
    const result = parsePolicyFile(EXAMPLE, { ...ENV, PD_ROUTING_KEY: undefined });
    expect(result).toEqual({
      ok: false,
      errors: [{ line: 3, column: 48, message: "environment variable PD_ROUTING_KEY is not set" }],
    });
  });

  it("reports every bad value at once, each at its line", () => {
    const text = `policies:
  - name: a
    max_age: 30 days
    review_at: 1.5
  - name: b
    exempt: true
    notify:
      due: [nowhere]
`;
    const result = parsePolicyFile(text, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.line, e.message.split(":")[0]])).toEqual([
      [3, "policies.0.max_age"],
      [4, "policies.0.review_at"],
      [5, "policies.1.reason"],
    ]);
  });

  it("refuses a notify list that names an undefined channel", () => {
    const result = parsePolicyFile("policies:\n  - name: a\n    notify:\n      due: [nowhere]\n", {});
    expect(result).toEqual({
      ok: false,
      errors: [{ line: 4, column: 13, message: "channel nowhere is not defined under channels" }],
    });
  });

  it("reports broken YAML with its position", () => {
    const result = parsePolicyFile("policies:\n  - name: [a\n", {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it("refuses two policies of one name, a PagerDuty key of the wrong length and a template that is not JSON", () => {
    const text = `channels:
  pd: { type: pagerduty, routing_key: short }
  ci: { type: webhook, url: "https://ci.example/hook", template: '{"ref": {{deployment.model}}' }
  raw: { type: webhook, url: "https://ci.example/hook", template: "model={{deployment.model}}", content_type: text/plain }
policies:
  - name: a
  - name: a
`;
    const first = parsePolicyFile(text, {});
    expect(first.ok).toBe(false);
    if (first.ok) return;
    expect(first.errors.map((e) => [e.line, e.message.split(":")[0]])).toEqual([
      [2, "channels.pd.routing_key"],
      [3, "channels.ci.template"],
    ]);
    const fixed = text
      .replace("routing_key: short", "routing_key: 0123456789abcdef0123456789abcdef")
      .replace("{{deployment.model}}'", `"{{deployment.model}}"}'`);
    const second = parsePolicyFile(fixed, {});
    expect(second).toEqual({
      ok: false,
      errors: [{ line: 7, column: 11, message: "policy name a is used twice" }],
    });
  });
});
