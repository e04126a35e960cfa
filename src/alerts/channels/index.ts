import { parseDuration } from "../../core/duration.js";
import { headerSecrets } from "../../core/redact-secrets.js";
import type { Notification, OutboundRequest } from "../notification.js";
import type { ChannelConfig } from "./channel-config.js";
import { pagerDutyRequest } from "./pagerduty.js";
import { slackRequest } from "./slack.js";
import { webhookRequest } from "./webhook.js";

const DEFAULT_TIMEOUT = "10s";

/**
 * Renders a notification in its channel's wire format. Done at send time, not when the
 * notification is stored: a webhook's signature covers the time of sending, and each attempt
 * of a delivery carries the same `deliveryId` so a receiver can drop the repeats.
 */
export function channelRequest(
  n: Notification,
  config: ChannelConfig,
  deliveryId: number,
  nowMs: number,
): OutboundRequest {
  switch (config.type) {
    case "slack":
      return slackRequest(n, config);
    case "pagerduty":
      return pagerDutyRequest(n, config);
    case "webhook":
      return webhookRequest(n, config, Math.floor(nowMs / 1000), deliveryId);
  }
}

/** How long one attempt on this channel may take, from its `timeout` (default 10s). */
export function channelTimeoutMs(config: ChannelConfig): number {
  // The policy file has already checked the duration; the fallback only keeps this total.
  return (parseDuration(config.timeout ?? DEFAULT_TIMEOUT) ?? 10) * 1000;
}

/**
 * What of a channel's configuration is a credential, to be kept out of delivery errors, logs and
 * the API: a Slack incoming webhook's URL is itself the credential (its path is the token), as a
 * webhook target's URL may be; a PagerDuty routing key; a webhook's signing secret and headers.
 */
export function channelSecrets(config: ChannelConfig): string[] {
  switch (config.type) {
    case "slack":
      return urlSecrets(config.url);
    case "pagerduty":
      return [config.routing_key];
    case "webhook":
      return [
        ...urlSecrets(config.url),
        ...(config.secret ? [config.secret] : []),
        ...headerSecrets(config.headers ?? {}),
      ];
  }
}

/** The URL whole and its path and query, which a receiver's error may quote without the host. */
function urlSecrets(url: string): string[] {
  if (!URL.canParse(url)) return [url];
  const parsed = new URL(url);
  return [url, `${parsed.pathname}${parsed.search}`];
}
