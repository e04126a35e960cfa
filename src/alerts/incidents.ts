import { type AgeBlock, computeAge } from "../core/age.js";
import type { Finding, FindingKind } from "../core/finding.js";
import { isoTime as iso } from "../core/iso-time.js";
import type { Policy } from "../core/policy.js";
import type { AlertStore } from "../store/alert-store.js";
import { parseJsonColumn } from "../store/json-columns.js";
import type { NewDelivery, OutboxStore } from "../store/outbox-store.js";
import type { AlertRow, DeploymentRow } from "../store/schema.js";
import type { Notification, NotificationAction, Severity } from "./notification.js";

/** Where channel names resolve, and which policy governs a deployment. */
export interface ChannelBook {
  policyFor(row: DeploymentRow): Policy;
  channelType(name: string): string | undefined;
}

export interface IncidentsOptions {
  channels: ChannelBook;
  /** The base URL of links in notifications (TENURE_PUBLIC_URL, or the server's address). */
  publicUrl: string;
  /** Wall-clock epoch ms for the outbox: a replay's notices are due now, not at its time. */
  wallClock?: () => number;
}

/**
 * The stores an alert change writes, bound to the caller's transaction (a `Stores` fits), or a
 * sweep preview's stand-in that writes nothing.
 */
export interface AlertWrites {
  alerts: Pick<
    AlertStore,
    "openAlertsFor" | "insertAlerts" | "markReminded" | "amendAlert" | "resolveAlerts"
  >;
  outbox: Pick<OutboxStore, "insertDeliveries">;
}

export interface AlertChange {
  alerts: number;
  notifications: number;
}

/**
 * Alerts and the notifications they cause. Every method runs inside the caller's transaction:
 * the alert changes and their outbox rows commit together or not at all, so a crash can
 * neither lose a notification nor send one for a change that did not happen.
 */
export class Incidents {
  constructor(private readonly options: IncidentsOptions) {}

  async open(
    tx: AlertWrites,
    items: { row: DeploymentRow; finding: Finding }[],
    at: number,
  ): Promise<AlertChange> {
    const alerts = await tx.alerts.insertAlerts(
      items.map(({ row, finding }) => ({
        deployment_id: row.id,
        kind: finding.kind,
        severity: finding.severity,
        policy: this.options.channels.policyFor(row).name,
        model: row.model,
        model_version: row.model_version,
        environment: row.environment,
        owner_team: row.owner_team,
        summary: finding.summary,
        detail: finding.detail,
        opened_at: at,
      })),
    );
    const rowBy = new Map(items.map(({ row, finding }) => [`${row.id}:${finding.kind}`, row]));
    const deliveries = alerts.flatMap((alert) => {
      const row = rowBy.get(`${alert.deployment_id}:${alert.kind}`);
      return row ? this.deliveries("trigger", alert, row, at) : [];
    });
    await tx.outbox.insertDeliveries(deliveries);
    return { alerts: alerts.length, notifications: deliveries.length };
  }

  async remind(
    tx: AlertWrites,
    items: { alert: AlertRow; row: DeploymentRow; finding: Finding }[],
    at: number,
  ): Promise<AlertChange> {
    await tx.alerts.markReminded(
      items.map((i) => i.alert.id),
      at,
    );
    const deliveries = items.flatMap(({ alert, row, finding }) =>
      this.deliveries(
        "remind",
        { ...alert, summary: finding.summary, detail: JSON.stringify(finding.detail) },
        row,
        at,
      ),
    );
    await tx.outbox.insertDeliveries(deliveries);
    return { alerts: items.length, notifications: deliveries.length };
  }

  /**
   * Resolves open alerts, each for the given reason, and tells their channels. An alert that
   * escalated (due → expired) closes quietly except in PagerDuty, whose incident must close.
   */
  async resolve(
    tx: AlertWrites,
    items: { alert: AlertRow; row: DeploymentRow }[],
    at: number,
    resolution: string,
  ): Promise<AlertChange> {
    const resolved = await tx.alerts.resolveAlerts(
      items.map((i) => i.alert.id),
      at,
      resolution,
    );
    const rowBy = new Map(items.map(({ alert, row }) => [alert.id, row]));
    const deliveries = resolved.flatMap((alert) => {
      const row = rowBy.get(alert.id);
      if (!row) return [];
      const all = this.deliveries("resolve", alert, row, at);
      return resolution === "escalated"
        ? all.filter((d) => this.options.channels.channelType(d.channel) === "pagerduty")
        : all;
    });
    await tx.outbox.insertDeliveries(deliveries);
    return { alerts: resolved.length, notifications: deliveries.length };
  }

  /**
   * Resolves the open alerts of deployments that just ended, each with its new status as the
   * resolution (`superseded`, `retired`, `rolled_back`), inside the transaction that ended them.
   */
  async resolveEnded(tx: AlertWrites, ended: DeploymentRow[], at: number): Promise<AlertChange> {
    const open = await tx.alerts.openAlertsFor(ended.map((row) => row.id));
    const total: AlertChange = { alerts: 0, notifications: 0 };
    for (const row of ended) {
      const items = open.filter((alert) => alert.deployment_id === row.id).map((alert) => ({ alert, row }));
      if (items.length === 0) continue;
      const change = await this.resolve(tx, items, at, row.status);
      total.alerts += change.alerts;
      total.notifications += change.notifications;
    }
    return total;
  }

  /**
   * One outbox row per channel the policy routes this kind to. Reminders go to people (Slack,
   * PagerDuty), not to webhooks: a webhook starts work, such as a retraining run, and must not
   * start it again every day the alert stays open.
   */
  private deliveries(
    action: NotificationAction,
    alert: AlertRow,
    row: DeploymentRow,
    at: number,
  ): NewDelivery[] {
    const policy = this.options.channels.policyFor(row);
    const names = policy.notify[alert.kind as FindingKind] ?? [];
    const notification = this.notification(action, alert, row, policy, at);
    return names
      .filter((name) => {
        const type = this.options.channels.channelType(name);
        return type !== undefined && !(action === "remind" && type === "webhook");
      })
      .map((channel) => ({
        alert_id: alert.id,
        channel,
        action,
        notification,
        created_at: (this.options.wallClock ?? Date.now)(),
      }));
  }

  private notification(
    action: NotificationAction,
    alert: AlertRow,
    row: DeploymentRow,
    policy: Policy,
    at: number,
  ): Notification {
    const age: AgeBlock = computeAge(row, policy, at);
    return {
      action,
      alert: {
        id: alert.id,
        kind: alert.kind as FindingKind,
        severity: alert.severity as Severity,
        summary: alert.summary,
        dedup_key: `tenure-${alert.deployment_id}-${alert.kind}`,
        state: action === "resolve" ? "resolved" : "open",
        opened_at: iso(alert.opened_at),
        resolved_at: action === "resolve" ? iso(alert.resolved_at ?? at) : null,
        resolution: action === "resolve" ? alert.resolution : null,
      },
      deployment: {
        id: row.id,
        model: row.model,
        model_version: row.model_version,
        environment: row.environment,
        owner_team: row.owner_team,
        role: row.role,
        status: row.status,
        deployment_date: iso(row.deployment_date),
        training_data_cutoff: iso(row.training_data_cutoff),
        endpoint: row.endpoint,
        policy: policy.name,
        age: {
          deployment_age_seconds: age.deployment_age_seconds,
          data_age_seconds: age.data_age_seconds,
          ttl_seconds: age.ttl_seconds,
          ttl_fraction: age.ttl_fraction,
          stage: age.stage,
        },
      },
      finding: parseJsonColumn("alert_detail", alert.detail),
      evaluated_at: iso(at),
      link: new URL(`/v1/deployments/${row.id}`, this.options.publicUrl).toString(),
    };
  }
}
