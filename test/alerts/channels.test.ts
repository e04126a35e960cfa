import { afterEach, describe, expect, it } from "vitest";
import { channelRequest, channelTimeoutMs } from "../../src/alerts/channels/index.js";
import { pagerDutyRequest } from "../../src/alerts/channels/pagerduty.js";
import { sendRequest } from "../../src/alerts/channels/send.js";
import { slackRequest } from "../../src/alerts/channels/slack.js";
import { renderTemplate, verifySignature, webhookRequest } from "../../src/alerts/channels/webhook.js";
import type {
  Notification,
  NotificationAction,
  OutboundRequest,
  Severity,
} from "../../src/alerts/notification.js";
import { retryAfterMs } from "../../src/core/retry-after.js";
import { EgressPolicy } from "../../src/egress-policy.js";
import { type Receiver, type ReceiverKind, startReceiver } from "../support/receivers.js";

/** The fakes listen on 127.0.0.1: private egress is allowed here, as a test opts in. */
const egress = EgressPolicy.allowPrivate();

const DAY = 86_400;
const ACTIONS: NotificationAction[] = ["trigger", "remind", "resolve"];
const ROUTING_KEY = "0123456789abcdef0123456789abcdef";
const SECRET = "a-secret-of-at-least-16";

/** fraud-gbm 3.2.0 in production, 31 days into a 30-day TTL. */
function notification(action: NotificationAction = "trigger", changes: Partial<Notification["alert"]> = {}) {
  const resolved = action === "resolve";
  const n: Notification = {
    action,
    alert: {
      id: 5,
      kind: "expired",
      severity: "error",
      summary: "fraud-gbm 3.2.0 in production is expired: 31d of 30d (103%)",
      dedup_key: "tenure/deployment/22/expired",
      state: resolved ? "resolved" : "open",
      opened_at: "2027-01-02T00:00:00.000Z",
      resolved_at: resolved ? "2027-01-05T09:00:00.000Z" : null,
      resolution: resolved ? "superseded" : null,
      ...changes,
    },
    deployment: {
      id: 22,
      model: "fraud-gbm",
      model_version: "3.2.0",
      environment: "production",
      owner_team: "risk",
      role: "primary",
      status: "active",
      deployment_date: "2026-12-01T00:00:00.000Z",
      training_data_cutoff: "2026-10-01T00:00:00.000Z",
      endpoint: null,
      policy: "fraud-fast",
      age: {
        deployment_age_seconds: 31 * DAY + 3600,
        data_age_seconds: 92 * DAY,
        ttl_seconds: 30 * DAY,
        ttl_fraction: 1.0347,
        stage: "expired",
      },
    },
    finding: { reason: "fraud patterns shift monthly", max_age_seconds: 30 * DAY },
    evaluated_at: "2027-01-05T08:00:00.000Z",
    link: "http://127.0.0.1:8080/v1/deployments/22",
  };
  return n;
}

const open: Receiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
});

async function receiver(kind: ReceiverKind, options: { secret?: string } = {}): Promise<Receiver> {
  const started = await startReceiver(kind, options);
  open.push(started);
  return started;
}

function send(request: OutboundRequest, timeoutMs = 5000) {
  return sendRequest(request, { timeoutMs, now: Date.now, egress });
}

function json(request: OutboundRequest): Record<string, unknown> {
  return JSON.parse(request.body) as Record<string, unknown>;
}

/** Every text of a Slack message's blocks, joined: what a reader of the channel sees. */
function blockText(request: OutboundRequest): string {
  return JSON.stringify(json(request).blocks);
}

describe("Slack", () => {
  it.each(ACTIONS)("a %s message is accepted by an incoming webhook", async (action) => {
    const slack = await receiver("slack");
    const result = await send(slackRequest(notification(action), { type: "slack", url: slack.url }));
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
    expect(slack.rejected).toEqual([]);
    expect(slack.received).toHaveLength(1);
    expect(slack.received[0]?.headers["content-type"]).toBe("application/json");
  });

  it("the blocks name model, version, environment, team, age against the TTL, reason and link", () => {
    const text = blockText(
      slackRequest(notification(), { type: "slack", url: "https://hooks.slack.test/x" }),
    );
    for (const expected of [
      "fraud-gbm",
      "3.2.0",
      "production",
      "risk",
      "31d of 30d (103%)",
      "fraud patterns shift monthly",
      "<http://127.0.0.1:8080/v1/deployments/22|",
    ]) {
      expect(text).toContain(expected);
    }
  });

  it("a resolve says it is resolved and why; a remind says it is still open since it opened", () => {
    const config = { type: "slack", url: "https://hooks.slack.test/x" } as const;
    const resolve = slackRequest(notification("resolve"), config);
    expect(json(resolve).text).toMatch(/^Resolved: .*\(superseded\)$/);
    expect(blockText(resolve)).toContain("*Resolved* (superseded)");
    const remind = slackRequest(notification("remind"), config);
    expect(json(remind).text).toContain("Reminder");
    expect(blockText(remind)).toContain("still open since 2027-01-02T00:00:00.000Z (3d)");
  });

  it("&, < and > in a policy's words are escaped, so a reason cannot ping the channel", () => {
    const n = notification();
    n.finding.reason = "<!channel> models & <https://evil.test|links>";
    const text = blockText(slackRequest(n, { type: "slack", url: "https://hooks.slack.test/x" }));
    expect(text).toContain("&lt;!channel&gt; models &amp; &lt;https://evil.test|links&gt;");
    expect(text).not.toContain("<!channel>");
  });

  it("overlong names and summaries are cut to Block Kit's limits and still accepted", async () => {
    const slack = await receiver("slack");
    const n = notification("remind", { summary: "x".repeat(5000) });
    n.deployment.model = `fraud-${"m".repeat(120)}`;
    n.deployment.environment = "e".repeat(128);
    const result = await send(slackRequest(n, { type: "slack", url: slack.url }));
    expect({ result: result.ok, rejected: slack.rejected }).toEqual({ result: true, rejected: [] });
  });
});

describe("PagerDuty", () => {
  const config = (url: string) => ({ type: "pagerduty", routing_key: ROUTING_KEY, url }) as const;

  it.each(ACTIONS)("a %s event is accepted by the Events API v2 with 202", async (action) => {
    const pagerDuty = await receiver("pagerduty");
    const result = await send(pagerDutyRequest(notification(action), config(pagerDuty.url)));
    expect(result).toMatchObject({ ok: true, status: 202, retry: false });
    expect(pagerDuty.rejected).toEqual([]);
    expect(pagerDuty.received).toHaveLength(1);
  });

  it("trigger, remind and resolve carry the same dedup_key, so the resolve closes what the trigger opened", () => {
    const events = ACTIONS.map((action) =>
      json(pagerDutyRequest(notification(action), config("http://x.test"))),
    );
    expect(events.map((event) => [event.event_action, event.dedup_key])).toEqual([
      ["trigger", "tenure/deployment/22/expired"],
      ["trigger", "tenure/deployment/22/expired"],
      ["resolve", "tenure/deployment/22/expired"],
    ]);
    expect(Object.keys(events[2] ?? {}).sort()).toEqual(["dedup_key", "event_action", "routing_key"]);
  });

  it.each<Severity>(["critical", "error", "warning", "info"])(
    "severity %s is sent as PagerDuty's severity and accepted",
    async (severity) => {
      const pagerDuty = await receiver("pagerduty");
      const request = pagerDutyRequest(notification("trigger", { severity }), config(pagerDuty.url));
      expect((await send(request)).ok).toBe(true);
      expect(pagerDuty.received[0]?.body).toMatchObject({ payload: { severity } });
    },
  );

  it("a trigger names source, component, group and class, and links to the deployment", () => {
    const event = json(pagerDutyRequest(notification(), { type: "pagerduty", routing_key: ROUTING_KEY }));
    expect(event).toMatchObject({
      client: "Tenure",
      payload: {
        source: "tenure: fraud-gbm in production",
        component: "fraud-gbm",
        group: "production",
        class: "expired",
        timestamp: "2027-01-05T08:00:00.000Z",
        custom_details: { model_version: "3.2.0", owner_team: "risk", link: notification().link },
      },
      links: [{ href: notification().link, text: "Deployment 22 in Tenure" }],
    });
  });

  it("without a url the event goes to events.pagerduty.com", () => {
    const request = pagerDutyRequest(notification(), { type: "pagerduty", routing_key: ROUTING_KEY });
    expect(request.url).toBe("https://events.pagerduty.com/v2/enqueue");
  });

  it("a summary over 1024 characters is cut to 1024 and accepted", async () => {
    const pagerDuty = await receiver("pagerduty");
    const n = notification("trigger", { summary: `${"s".repeat(1023)}😀 and more` });
    const request = pagerDutyRequest(n, config(pagerDuty.url));
    const summary = (json(request).payload as { summary: string }).summary;
    expect(summary.length).toBeLessThanOrEqual(1024);
    expect((await send(request)).ok).toBe(true);
  });

  it("an event PagerDuty refuses (400 invalid event) is a permanent failure", async () => {
    const pagerDuty = await receiver("pagerduty");
    const request = pagerDutyRequest(notification(), { ...config(pagerDuty.url), routing_key: "short" });
    const result = await send(request);
    expect(result).toMatchObject({ ok: false, status: 400, retry: false, retry_after_ms: null });
    expect(result.error).toContain("invalid event");
    expect(pagerDuty.received).toEqual([]);
    expect(pagerDuty.rejected[0]?.errors).toEqual([
      "Length of 'routing_key' is incorrect (should be 32 characters)",
    ]);
  });
});

describe("webhook", () => {
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it("the default body is the notification itself, numbered by its delivery id", () => {
    const n = notification();
    const request = webhookRequest(n, { type: "webhook", url: "https://ci.test/hook" }, 1_700_000_000, 7);
    expect(JSON.parse(request.body)).toEqual(n);
    expect(request.headers).toEqual({ "content-type": "application/json", "tenure-delivery": "7" });
  });

  it.each(ACTIONS)(
    "a signed %s delivery is accepted by a receiver that shares the secret",
    async (action) => {
      const target = await receiver("webhook", { secret: SECRET });
      const n = notification(action);
      const request = webhookRequest(
        n,
        { type: "webhook", url: target.url, secret: SECRET },
        nowSeconds(),
        41,
      );
      expect(await send(request)).toMatchObject({ ok: true, status: 200 });
      expect(target.received[0]?.body).toEqual(n);
      expect(target.received[0]?.headers["tenure-delivery"]).toBe("41");
    },
  );

  it("the signature verifies; a tampered body, another secret or a stale time does not", () => {
    const now = 1_700_000_000;
    const request = webhookRequest(
      notification(),
      { type: "webhook", url: "https://x.test", secret: SECRET },
      now,
      1,
    );
    const header = request.headers["tenure-signature"] ?? "";
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, header, request.body, now + 299)).toBe(true);
    expect(verifySignature(SECRET, header, Buffer.from(request.body), now)).toBe(true);
    expect(verifySignature(SECRET, header, request.body.replace("fraud-gbm", "fraud-gbn"), now)).toBe(false);
    expect(verifySignature("another-secret-of-16", header, request.body, now)).toBe(false);
    expect(verifySignature(SECRET, header, request.body, now + 301)).toBe(false);
    expect(verifySignature(SECRET, header.replace("t=1700000000", "t=1700000001"), request.body, now)).toBe(
      false,
    );
    expect(verifySignature(SECRET, `${header}00`, request.body, now)).toBe(false);
  });

  it("a receiver with another secret refuses the delivery with 401, which is not retried", async () => {
    const target = await receiver("webhook", { secret: "the-receivers-own-secret" });
    const request = webhookRequest(
      notification(),
      { type: "webhook", url: target.url, secret: SECRET },
      nowSeconds(),
      1,
    );
    expect(await send(request)).toMatchObject({ ok: false, status: 401, retry: false });
    expect(target.received).toEqual([]);
    expect(target.rejected).toHaveLength(1);
  });

  it("a template renders GitHub's workflow_dispatch body; a quote or newline in a value keeps it valid JSON", async () => {
    const target = await receiver("webhook");
    const n = notification();
    n.finding.reason = 'says "retrain"\nthen \\ ship';
    const template =
      '{"ref":"main","inputs":{"model":"{{deployment.model}}","version":"{{ deployment.model_version }}",' +
      '"reason":"{{finding.reason}}","age":"{{deployment.age.deployment_age_seconds}}","none":"{{no.such.path}}"}}';
    const headers = { Authorization: "Bearer gh-token", Accept: "application/vnd.github+json" };
    const request = webhookRequest(
      n,
      { type: "webhook", url: target.url, template, headers },
      nowSeconds(),
      3,
    );
    expect(await send(request)).toMatchObject({ ok: true });
    expect(target.received[0]?.body).toEqual({
      ref: "main",
      inputs: {
        model: "fraud-gbm",
        version: "3.2.0",
        reason: 'says "retrain"\nthen \\ ship',
        age: String(31 * DAY + 3600),
        none: "",
      },
    });
    expect(target.received[0]?.headers).toMatchObject({
      authorization: "Bearer gh-token",
      accept: "application/vnd.github+json",
    });
  });

  it("outside JSON a template is filled raw, and a path never reaches the prototype", () => {
    const n = notification();
    n.finding.reason = 'a "quoted" reason';
    const text = renderTemplate(
      "{{deployment.model}}: {{finding.reason}} [{{constructor}}{{alert.__proto__}}]",
      n,
      false,
    );
    expect(text).toBe('fraud-gbm: a "quoted" reason []');
  });

  it("configured headers cannot replace the delivery id, the signature or the content type", () => {
    const headers = { "Tenure-Delivery": "1", "TENURE-SIGNATURE": "forged", "Content-Type": "text/plain" };
    const config = { type: "webhook", url: "https://x.test", secret: SECRET, headers } as const;
    const request = webhookRequest(notification(), config, 1_700_000_000, 9);
    expect(request.headers["tenure-delivery"]).toBe("9");
    expect(request.headers["tenure-signature"]).toMatch(/^t=1700000000,v1=/);
    expect(request.headers["content-type"]).toBe("application/json");
    expect(Object.keys(request.headers).sort()).toEqual([
      "content-type",
      "tenure-delivery",
      "tenure-signature",
    ]);
  });
});

describe("channelRequest", () => {
  it("renders each channel type in its own format, and a timeout defaults to 10s", () => {
    const n = notification();
    const now = 1_700_000_000_000;
    expect(channelRequest(n, { type: "slack", url: "https://s.test/" }, 1, now).body).toContain('"blocks"');
    expect(channelRequest(n, { type: "pagerduty", routing_key: ROUTING_KEY }, 1, now).url).toBe(
      "https://events.pagerduty.com/v2/enqueue",
    );
    const webhook = channelRequest(n, { type: "webhook", url: "https://w.test/", secret: SECRET }, 8, now);
    expect(verifySignature(SECRET, webhook.headers["tenure-signature"] ?? "", webhook.body, now / 1000)).toBe(
      true,
    );
    expect(webhook.headers["tenure-delivery"]).toBe("8");
    expect(channelTimeoutMs({ type: "slack", url: "https://s.test/" })).toBe(10_000);
    expect(channelTimeoutMs({ type: "slack", url: "https://s.test/", timeout: "30s" })).toBe(30_000);
  });
});

describe("sendRequest", () => {
  const request = (url: string): OutboundRequest => ({
    url,
    headers: { "content-type": "application/json" },
    body: "{}",
  });

  it("a 503 is a failure to retry", async () => {
    const target = await receiver("webhook");
    target.setMode("error503");
    expect(await send(request(target.url))).toMatchObject({
      ok: false,
      status: 503,
      retry: true,
      retry_after_ms: null,
      error: "HTTP 503: service unavailable",
    });
  });

  it("a 429 is retried after its Retry-After", async () => {
    const target = await receiver("pagerduty");
    target.setMode("rate-limit");
    expect(await send(request(target.url))).toMatchObject({
      ok: false,
      status: 429,
      retry: true,
      retry_after_ms: 1000,
    });
  });

  it("Retry-After is read as delay-seconds or an HTTP-date (RFC 9110 §10.2.3)", () => {
    const now = Date.parse("2027-01-05T08:00:00Z");
    expect(retryAfterMs("120", now)).toBe(120_000);
    expect(retryAfterMs("Tue, 05 Jan 2027 08:00:30 GMT", now)).toBe(30_000);
    expect(retryAfterMs("Tuesday, 05-Jan-27 08:01:00 GMT", now)).toBe(60_000);
    expect(retryAfterMs("Tue Jan  5 08:00:10 2027", now)).toBe(10_000);
    expect(retryAfterMs("Mon, 04 Jan 2027 08:00:00 GMT", now)).toBe(0);
    expect([retryAfterMs("1.5", now), retryAfterMs("soon", now), retryAfterMs(null, now)]).toEqual([
      null,
      null,
      null,
    ]);
  });

  it("a receiver that never answers times out, and the attempt is to be retried", async () => {
    const target = await receiver("slack");
    target.setMode("hang");
    const result = await send(request(target.url), 300);
    expect(result).toMatchObject({ ok: false, status: null, retry: true, error: "timed out after 300 ms" });
    expect(result.duration_ms).toBeGreaterThanOrEqual(250);
  });

  it("a refused connection is a network error to retry", async () => {
    const target = await receiver("webhook");
    await target.close();
    const result = await send(request(target.url));
    expect(result).toMatchObject({ ok: false, status: null, retry: true });
    expect(result.error).toContain("ECONNREFUSED");
  });

  it("a 404 is permanent, and an invalid URL fails without throwing", async () => {
    const target = await receiver("slack");
    expect(await send(request(`${target.url}/wrong`))).toMatchObject({
      ok: false,
      status: 404,
      retry: false,
    });
    expect(await send(request("not a url"))).toMatchObject({ ok: false, status: null, retry: false });
  });
});
