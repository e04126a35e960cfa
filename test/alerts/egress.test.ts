import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EgressPolicy } from "../../src/egress-policy.js";
import { dialects } from "../support/databases.js";
import { type Receiver, startReceiver } from "../support/receivers.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");

const POLICIES = `
channels:
  slack: { type: slack, url: "\${SLACK_URL}", timeout: 1s }
policies:
  - name: short
    max_age: 10d
    notify: { due: [slack], expired: [slack] }
`;

describe.each(dialects())("alert delivery under the egress policy on %s", (dialect) => {
  let t: TestApp | undefined;
  let slack: Receiver;

  beforeAll(async () => {
    slack = await startReceiver("slack");
  });
  afterAll(async () => {
    await slack.close();
  });
  afterEach(async () => {
    await t?.close();
    slack.received.length = 0;
  });

  /** One alert due to the Slack receiver on 127.0.0.1, its delivery attempted once. */
  const attemptUnder = async (egress: EgressPolicy) => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES, env: { SLACK_URL: slack.url }, egress });
    const res = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ model: "m-1" }),
    });
    expect(res.statusCode).toBe(201);
    t.setNow(T0 + 11 * DAY);
    await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    await t.context.dispatcher.deliverDue();
    const all = await t.request({ method: "GET", url: "/v1/deliveries?limit=500" });
    return all.json().items as { state: string; attempts: number; attempt_log: { error: string | null }[] }[];
  };

  it("a channel on 127.0.0.1 is dead-lettered at its first attempt under the strict default, naming the refusal, and hears nothing", async () => {
    const [delivery, ...others] = await attemptUnder(EgressPolicy.strict());
    expect(others).toEqual([]);
    expect(delivery).toMatchObject({ state: "failed", attempts: 1 });
    expect(delivery?.attempt_log[0]?.error).toContain("egress refused: 127.0.0.1 is loopback");
    expect(slack.received).toEqual([]);
  });

  it("the same channel is delivered when private egress is allowed", async () => {
    const [delivery] = await attemptUnder(EgressPolicy.allowPrivate());
    expect(delivery).toMatchObject({ state: "delivered", attempts: 1 });
    expect(slack.received).toHaveLength(1);
  });
});
