import { describe, expect, it } from "vitest";
import { digestBlocks, digestRequest } from "../../src/alerts/channels/digest.js";
import { composeRotReport, type ReportDeployment } from "../../src/core/rot-report.js";

const NOW = Date.parse("2027-01-04T09:00:00.000Z");

function expired(id: number): ReportDeployment {
  return {
    id,
    model: `a-model-with-a-rather-long-name-${id}`,
    model_version: "1.0.0",
    environment: "production",
    owner_team: "risk",
    role: "primary",
    deployment_age_seconds: 100 * 86_400,
    data_age_seconds: 120 * 86_400,
    ttl_seconds: 90 * 86_400,
    ttl_fraction: 1.1111,
    stage: "expired",
    exempt: false,
    max_data_age_seconds: null,
    performance: null,
    drift: null,
    forecast: null,
  };
}

describe("a digest's Slack message", () => {
  const report = composeRotReport({
    now: NOW,
    since_seconds: 7 * 86_400,
    deployments: Array.from({ length: 200 }, (_, i) => expired(i + 1)),
    alerts: [],
  });
  const team = report.teams[0];
  if (!team) throw new Error("one team");
  const digest = { report, team, link: "https://tenure.example.com/v1/report?owner_team=risk", id: "k" };

  it("keeps a long section within Block Kit's 3000 characters and counts what it left out", () => {
    const blocks = digestBlocks(digest) as { type: string; text?: { text: string } }[];
    expect(blocks.length).toBeLessThanOrEqual(50);
    const section = blocks.find((b) => b.text?.text.startsWith("*Expired (200)*"));
    expect(section?.text?.text.length).toBeLessThanOrEqual(3000);
    expect(section?.text?.text).toMatch(/\n…and \d+ more$/);
    const shown = (section?.text?.text.match(/\n• /g) ?? []).length;
    expect(section?.text?.text.endsWith(`…and ${200 - shown} more`)).toBe(true);
  });

  it("goes to Slack with a text fallback, and to no PagerDuty channel", () => {
    const request = digestRequest(
      digest,
      { type: "slack", url: "https://hooks.slack.com/services/T/B/X" },
      0,
    );
    const body = JSON.parse(request?.body ?? "{}");
    expect(body.text).toBe("Rot report for risk: 200 live; 200 expired");
    expect(body.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "Rot report: risk" },
    });
    expect(
      digestRequest(digest, { type: "pagerduty", routing_key: "0123456789abcdef0123456789abcdef" }, 0),
    ).toBeUndefined();
  });
});
