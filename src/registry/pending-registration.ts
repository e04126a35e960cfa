import type { Actor } from "./actor.js";
import type { RegisterDeploymentBody } from "./deployment-input.js";

/** A registration checked at the edge, waiting for its transaction. */
export interface PendingRegistration {
  body: RegisterDeploymentBody;
  actor: Actor;
  /** When the server received it: the default deployment_date and the time of its events. */
  now: number;
  deployment_date: number;
  training_data_cutoff: number;
  /** A scheduled promotion: stored as `scheduled`, made live by the sweep at deployment_date. */
  scheduled: boolean;
  /** The body's hash when an Idempotency-Key was sent, else empty. */
  request_hash: string;
  /** The actor's scope and the Idempotency-Key, when one was sent. */
  scope_key: string | undefined;
}
