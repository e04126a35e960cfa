import { parseDuration } from "../../core/duration.js";
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
