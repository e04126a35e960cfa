/**
 * The words every layer shares, with the values they may take: the store keeps them in its
 * tables, the API validates and documents them, the CLI offers them as choices. Defined here, not
 * in the store's schema, so that speaking of a role or an alert's state needs no database.
 */

/** A deployment's role: `primary` answers users, `shadow` sees traffic, `canary` answers a share. */
export const ROLES = ["primary", "shadow", "canary"] as const;
export type DeploymentRole = (typeof ROLES)[number];

/** A deployment's status; live means `active`. */
export const STATUSES = ["scheduled", "active", "superseded", "rolled_back", "retired"] as const;
export type DeploymentStatus = (typeof STATUSES)[number];

/** What a bearer token may do; each scope may do what the ones before it may. */
export const TOKEN_SCOPES = ["read", "write", "admin"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/**
 * Where an audited change came from: an HTTP request, the CLI on the database itself, a signal to
 * the server, or the server's own schedule (sweeps, MLflow syncs).
 */
export const AUDIT_ORIGINS = ["http", "local", "signal", "system"] as const;
export type AuditOrigin = (typeof AUDIT_ORIGINS)[number];

export const SWEEP_STATES = ["running", "done", "failed"] as const;
export type SweepState = (typeof SWEEP_STATES)[number];

/** An alert is open until the finding behind it is resolved. */
export const ALERT_STATES = ["open", "resolved"] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** How a feature's values are compared for drift: as numbers or as categories. */
export const FEATURE_KINDS = ["numeric", "categorical"] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

/** Where a deployment's performance baseline came from: given at registration, or learned from its metrics. */
export const BASELINE_SOURCES = ["registration", "learned"] as const;
export type BaselineSource = (typeof BASELINE_SOURCES)[number];

/** A delivery in the outbox; `failed` is the dead letter. */
export const DELIVERY_STATES = ["pending", "delivered", "failed"] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** A rot report digest to one channel for one slot: sent, waiting to be tried again, or given up. */
export const DIGEST_STATES = ["sent", "pending", "failed"] as const;
export type DigestState = (typeof DIGEST_STATES)[number];

/** A canary's state: analysed (`running`), `paused` after inconclusive analyses, or done. */
export const CANARY_STATES = ["running", "paused", "rolled_back", "promoted", "ended"] as const;
export type CanaryState = (typeof CANARY_STATES)[number];

/** What one canary analysis concluded. */
export const CANARY_VERDICTS = ["pass", "fail", "inconclusive"] as const;
export type CanaryVerdict = (typeof CANARY_VERDICTS)[number];
