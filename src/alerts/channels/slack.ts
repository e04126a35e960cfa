import { formatDuration } from "../../core/duration.js";
import type { Notification, OutboundRequest } from "../notification.js";
import type { ChannelConfig } from "./channel-config.js";
import { truncate } from "./truncate.js";

export type SlackChannelConfig = Extract<ChannelConfig, { type: "slack" }>;

// Block Kit's limits (docs.slack.dev/reference/block-kit/blocks): a longer text makes Slack refuse
// the whole message with `invalid_blocks`, so every text is cut to fit rather than trusted to.
const HEADER_MAX = 150;
const SECTION_TEXT_MAX = 3000;
const FIELD_TEXT_MAX = 2000;

const KIND_LABELS: Record<Notification["alert"]["kind"], string> = {
  due: "due for review",
  expired: "expired",
  data_stale: "training data stale",
  silent: "silent",
  degraded: "degraded",
  drifted: "drifted",
  forecast_breach: "forecast to cross its target before its next review",
  canary_failed: "canary rolled back",
  canary_paused: "canary paused",
  guardrail: "rolled back by its guardrail",
  version_mismatch: "serving another version than registered",
};

/**
 * A Slack incoming-webhook message: `text` is what notifications and screen readers show,
 * `blocks` what the channel shows. Remind and resolve are follow-up messages, since an
 * incoming webhook cannot edit what it posted.
 */
export function slackRequest(n: Notification, config: SlackChannelConfig): OutboundRequest {
  const message = { text: fallbackText(n), blocks: blocks(n) };
  return {
    url: config.url,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(message),
  };
}

function subject(n: Notification): string {
  const d = n.deployment;
  return `${d.model} ${d.model_version} in ${d.environment}`;
}

function headline(n: Notification): string {
  const label = KIND_LABELS[n.alert.kind];
  if (n.action === "resolve") return `Resolved: ${subject(n)} no longer ${label}`;
  if (n.action === "remind") return `Reminder: ${subject(n)} is still ${label}`;
  return `${subject(n)} is ${label}`;
}

function fallbackText(n: Notification): string {
  if (n.action === "resolve") return escapeText(`${headline(n)} (${n.alert.resolution ?? "resolved"})`);
  if (n.action === "remind")
    return escapeText(`Reminder: ${n.alert.summary} (open since ${n.alert.opened_at})`);
  return escapeText(n.alert.summary);
}

/** What the message says first: why it was sent, or why it no longer applies. */
function statusText(n: Notification): string {
  const summary = escapeText(n.alert.summary);
  if (n.action === "resolve") {
    const why = escapeText(n.alert.resolution ?? "resolved");
    const when = n.alert.resolved_at ? ` at ${n.alert.resolved_at}` : "";
    return `:white_check_mark: *Resolved* (${why})${when}. It was: ${summary}`;
  }
  const reason = typeof n.finding.reason === "string" ? `\n*Reason:* ${escapeText(n.finding.reason)}` : "";
  if (n.action === "remind") {
    const open = openFor(n);
    return `:bell: *Reminder*: still open since ${n.alert.opened_at}${open}.\n${summary}${reason}`;
  }
  return `${summary}${reason}`;
}

function openFor(n: Notification): string {
  const seconds = (Date.parse(n.evaluated_at) - Date.parse(n.alert.opened_at)) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? ` (${formatDuration(seconds)})` : "";
}

function blocks(n: Notification): unknown[] {
  const d = n.deployment;
  const age = d.age;
  const percent = Math.round(age.ttl_fraction * 100);
  const fields: Array<[string, string]> = [
    ["Model", d.model],
    ["Version", d.model_version],
    ["Environment", d.environment],
    ["Team", d.owner_team],
    [
      "Age",
      `${formatDuration(age.deployment_age_seconds)} of ${formatDuration(age.ttl_seconds)} (${percent}%)`,
    ],
    ["Data age", formatDuration(age.data_age_seconds)],
    ["Policy", d.policy],
  ];
  return [
    { type: "header", text: { type: "plain_text", text: truncate(headline(n), HEADER_MAX) } },
    { type: "section", text: mrkdwn(statusText(n), SECTION_TEXT_MAX) },
    {
      type: "section",
      fields: fields.map(([label, value]) => mrkdwn(`*${label}*\n${escapeText(value)}`, FIELD_TEXT_MAX)),
    },
    {
      type: "section",
      text: mrkdwn(`<${escapeLink(n.link)}|Deployment ${d.id} in Tenure>`, SECTION_TEXT_MAX),
    },
  ];
}

function mrkdwn(text: string, max: number): { type: "mrkdwn"; text: string } {
  return { type: "mrkdwn", text: truncate(text, max) };
}

// Slack reads &, < and > as control characters in mrkdwn (a `<!channel>` in a policy's reason
// would ping everyone), so they are escaped as HTML entities, as Slack's formatting guide asks.
function escapeText(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

// In `<url|label>` a `|` or `>` would end the URL early; percent-encoding keeps it one link.
function escapeLink(url: string): string {
  return url.replaceAll("|", "%7C").replaceAll(">", "%3E").replaceAll("<", "%3C");
}
