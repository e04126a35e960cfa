import { createHash } from "node:crypto";
import type { RotReport, TeamReport } from "../../core/rot-report.js";
import {
  renderReportMarkdown,
  reportPeriodLine,
  teamLines,
  teamSummary,
} from "../../core/rot-report-render.js";
import type { OutboundRequest } from "../notification.js";
import type { ChannelConfig } from "./channel-config.js";
import { truncate } from "./truncate.js";
import { DELIVERY_HEADER, SIGNATURE_HEADER, signature } from "./webhook.js";

// Block Kit's limits (docs.slack.dev/reference/block-kit/blocks): a longer text makes Slack refuse
// the whole message with `invalid_blocks`.
const HEADER_MAX = 150;
const SECTION_TEXT_MAX = 3000;
const CONTEXT_TEXT_MAX = 3000;

/** One team's rot report, as a digest: the report of that team alone, and a link to read it again. */
export interface Digest {
  report: RotReport;
  team: TeamReport;
  /** `GET /v1/report?owner_team=…` on this server. */
  link: string;
  /** The digest's key: `team/channel/slot`, the same at every attempt. */
  id: string;
}

/**
 * A digest in its channel's wire format: Slack gets Block Kit `blocks` with a `text` fallback
 * (an incoming webhook's message); a webhook gets JSON with the markdown and the team's report,
 * signed when the channel has a secret (its `template`, written for alerts, is not used). A
 * PagerDuty channel takes no digest: the policy file refuses one.
 */
export function digestRequest(
  digest: Digest,
  config: ChannelConfig,
  nowSeconds: number,
): OutboundRequest | undefined {
  switch (config.type) {
    case "slack":
      return {
        url: config.url,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: fallbackText(digest), blocks: digestBlocks(digest) }),
      };
    case "webhook": {
      const body = JSON.stringify({
        type: "rot_report",
        owner_team: digest.team.owner_team,
        summary: teamSummary(digest.team),
        markdown: renderReportMarkdown(digest.report),
        report: digest.report,
        link: digest.link,
      });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(config.headers ?? {})) headers[name.toLowerCase()] = value;
      headers["content-type"] = "application/json";
      headers[DELIVERY_HEADER] = deliveryNumber(digest.id);
      headers[DIGEST_HEADER] = digest.id;
      if (config.secret !== undefined) headers[SIGNATURE_HEADER] = signature(config.secret, nowSeconds, body);
      return { url: config.url, headers, body };
    }
    case "pagerduty":
      return undefined;
  }
}

/** The digest's own key, readable: `risk/risk-slack/2027-01-04T09:00:00.000Z`. */
export const DIGEST_HEADER = "tenure-digest";

/**
 * Tenure-Delivery is a number, which receivers drop repeats by: for a digest, 52 bits of the
 * SHA-256 of its key, so every attempt of one team's digest of one slot to one channel carries
 * the same one, and two digests' numbers meet with odds of about one in 2^52.
 */
export function deliveryNumber(key: string): string {
  return String(Number.parseInt(createHash("sha256").update(key).digest("hex").slice(0, 13), 16));
}

function fallbackText(digest: Digest): string {
  return escapeText(`Rot report for ${digest.team.owner_team}: ${teamSummary(digest.team)}`);
}

/** Header, period, summary, a section per non-empty part of the report, and the link: at most 11 blocks. */
export function digestBlocks(digest: Digest): unknown[] {
  const { report, team } = digest;
  const sections = teamLines(report, team).map(({ title, lines }) => ({
    type: "section",
    text: { type: "mrkdwn", text: listText(`*${escapeText(title)}*`, lines.map(escapeText)) },
  }));
  return [
    {
      type: "header",
      text: { type: "plain_text", text: truncate(`Rot report: ${team.owner_team}`, HEADER_MAX) },
    },
    {
      type: "context",
      elements: [{ type: "mrkdwn", text: truncate(escapeText(reportPeriodLine(report)), CONTEXT_TEXT_MAX) }],
    },
    {
      type: "section",
      text: { type: "mrkdwn", text: truncate(`*${escapeText(teamSummary(team))}*`, SECTION_TEXT_MAX) },
    },
    ...sections,
    {
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          text: truncate(`<${escapeLink(digest.link)}|The report in Tenure>`, CONTEXT_TEXT_MAX),
        },
      ],
    },
  ];
}

/** A title and bullets within a section's limit; what does not fit is counted, not cut mid-line. */
function listText(title: string, lines: string[]): string {
  let text = title;
  for (let i = 0; i < lines.length; i++) {
    const line = `\n• ${lines[i]}`;
    const rest = lines.length - i - 1;
    const more = rest > 0 ? `\n…and ${rest} more` : "";
    if (text.length + line.length + more.length > SECTION_TEXT_MAX - 40) {
      return `${text}\n…and ${lines.length - i} more`;
    }
    text += line;
  }
  return text;
}

// Slack reads &, < and > as control characters in mrkdwn: escaped as its formatting guide asks.
function escapeText(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function escapeLink(url: string): string {
  return url.replaceAll("|", "%7C").replaceAll(">", "%3E").replaceAll("<", "%3C");
}
