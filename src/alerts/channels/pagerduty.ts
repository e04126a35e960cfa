import type { Notification, OutboundRequest } from "../notification.js";
import type { ChannelConfig } from "./channel-config.js";
import { truncate } from "./truncate.js";

export type PagerDutyChannelConfig = Extract<ChannelConfig, { type: "pagerduty" }>;

export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

// PagerDuty refuses (400 invalid event) a trigger whose payload.summary is over 1024 characters.
const SUMMARY_MAX = 1024;

/**
 * A PagerDuty Events API v2 event (developer.pagerduty.com/docs/events-api-v2/trigger-events).
 * The alert's dedup_key ties every event to one PagerDuty alert: a remind is another trigger
 * with the same key, which PagerDuty folds into the open alert instead of paging anew, and a
 * resolve with it closes that alert.
 */
export function pagerDutyRequest(n: Notification, config: PagerDutyChannelConfig): OutboundRequest {
  const event = n.action === "resolve" ? resolveEvent(n, config) : triggerEvent(n, config);
  return {
    url: config.url ?? PAGERDUTY_EVENTS_URL,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(event),
  };
}

// A resolve needs nothing but the key of what it resolves; PagerDuty ignores a payload on it.
function resolveEvent(n: Notification, config: PagerDutyChannelConfig) {
  return { routing_key: config.routing_key, event_action: "resolve", dedup_key: n.alert.dedup_key };
}

function triggerEvent(n: Notification, config: PagerDutyChannelConfig) {
  const d = n.deployment;
  return {
    routing_key: config.routing_key,
    event_action: "trigger",
    dedup_key: n.alert.dedup_key,
    payload: {
      summary: truncate(n.alert.summary, SUMMARY_MAX),
      source: `tenure: ${d.model} in ${d.environment}`,
      severity: n.alert.severity,
      timestamp: n.evaluated_at,
      component: d.model,
      group: d.environment,
      class: n.alert.kind,
      custom_details: {
        ...d,
        action: n.action,
        opened_at: n.alert.opened_at,
        finding: n.finding,
        link: n.link,
      },
    },
    links: [{ href: n.link, text: `Deployment ${d.id} in Tenure` }],
    client: "Tenure",
  };
}
