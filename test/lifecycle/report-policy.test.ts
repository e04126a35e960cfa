import { describe, expect, it } from "vitest";
import { parsePolicyFile } from "../../src/lifecycle/policy-file.js";

const CHANNELS = `
channels:
  risk-slack: { type: slack, url: "https://hooks.slack.com/services/T/B/X" }
  pager: { type: pagerduty, routing_key: "0123456789abcdef0123456789abcdef" }
`;

function errorsOf(report: string): string[] {
  const result = parsePolicyFile(`${CHANNELS}report:\n${report}`, {});
  return result.ok ? [] : result.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
}

describe("the policy file's report: the rot report's digest schedule", () => {
  it("reads a schedule in UTC unless it names a time zone, with team overrides and an optional period", () => {
    const result = parsePolicyFile(
      `${CHANNELS}report:\n  every: "0 9 * * MON"\n  notify: [risk-slack]\n  teams: { growth: [risk-slack] }\n  since: 14d\n`,
      {},
    );
    expect(result.ok && result.file.report).toEqual({
      every: "0 9 * * MON",
      timezone: "UTC",
      notify: ["risk-slack"],
      teams: { growth: ["risk-slack"] },
      since_seconds: 14 * 86_400,
    });
    const paris = parsePolicyFile(
      `${CHANNELS}report: { every: "30 8 * * 1-5", timezone: Europe/Paris, notify: [risk-slack] }\n`,
      {},
    );
    expect(paris.ok && paris.file.report?.timezone).toBe("Europe/Paris");
    expect(parsePolicyFile(CHANNELS, {})).toMatchObject({ ok: true, file: { report: null } });
  });

  it("refuses a cron expression that is not one of five fields, with its line and a clear message", () => {
    expect(errorsOf(`  every: "0 9 * * FUNDAY"\n  notify: [risk-slack]\n`)).toEqual([
      expect.stringMatching(/^6:\d+ report\.every: is not a cron expression: .*FUNDAY/),
    ]);
    expect(errorsOf(`  every: "0 0 9 * * MON"\n  notify: [risk-slack]\n`)).toEqual([
      expect.stringMatching(
        /^6:\d+ report\.every: must be a cron expression of five fields .*"0 0 9 \* \* MON" has 6$/,
      ),
    ]);
    expect(errorsOf(`  every: weekly\n  notify: [risk-slack]\n`)).toEqual([
      expect.stringMatching(/report\.every: must be a cron expression of five fields/),
    ]);
  });

  it("refuses an unknown time zone, an undefined channel and a PagerDuty one, each where it is written", () => {
    expect(errorsOf(`  every: "0 9 * * MON"\n  timezone: Mars/Olympus\n  notify: [risk-slack]\n`)).toEqual([
      "7:13 report.timezone: must be an IANA time zone, such as Europe/Paris",
    ]);
    expect(
      errorsOf(`  every: "0 9 * * MON"\n  notify: [risk-slack, nowhere]\n  teams: { risk: [pager] }\n`),
    ).toEqual([
      "7:24 report.notify: channel nowhere is not defined under channels",
      "8:19 report.teams.risk: channel pager is a PagerDuty channel: a digest goes to Slack or a webhook, it pages no one",
    ]);
    expect(errorsOf(`  every: "0 9 * * MON"\n  notify: []\n`)).toEqual([
      expect.stringMatching(/report\.notify: must name at least one channel/),
    ]);
  });
});
