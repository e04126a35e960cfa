import type { CompiledQuery } from "kysely";
import { BoundStore } from "./bound-store.js";
import type { EventRow } from "./schema.js";

/** An event to append: what happened to a deployment (or to a model in an environment), by whom, when. */
export interface NewEvent {
  deployment_id: number | null;
  model: string;
  environment: string;
  type: string;
  actor: string;
  at: number;
  data: Record<string, unknown>;
}

/**
 * The registry's append-only history: events are appended in the transaction of the change
 * they record, and never updated or deleted. DeploymentStore carries it, beside the deployments.
 */
export interface EventLog {
  appendEvent(event: NewEvent): Promise<void>;
  /** Appends events in one statement, in the order given. */
  appendEvents(events: NewEvent[]): Promise<void>;
  /** A deployment's events, oldest first. */
  listEvents(deploymentId: number): Promise<EventRow[]>;
  /** Every event of a model, its deployments' and its own (golden_set), oldest first. */
  listModelEvents(model: string): Promise<EventRow[]>;
}

export class SqlEventLog extends BoundStore implements EventLog {
  async appendEvent(event: NewEvent): Promise<void> {
    await this.appendEvents([event]);
  }

  async appendEvents(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((event) => ({ ...event, data: JSON.stringify(event.data) }));
    const direct = this.direct;
    if (direct) {
      direct.insert("deployment_events", rows);
      return;
    }
    await this.executor.insertInto("deployment_events").values(rows).execute();
  }

  async listEvents(deploymentId: number): Promise<EventRow[]> {
    return this.executor
      .selectFrom("deployment_events")
      .selectAll()
      .where("deployment_id", "=", deploymentId)
      .orderBy("id")
      .execute();
  }

  async listModelEvents(model: string): Promise<EventRow[]> {
    const { rows } = await this.executor.executeQuery<EventRow>(this.modelEventsQuery(model));
    return rows;
  }

  /**
   * The query of a model's history (also what a test asks the planners to explain): through the
   * model's deployments, then its own events; no index holds every event by model.
   */
  modelEventsQuery(model: string): CompiledQuery<EventRow> {
    return this.executor
      .selectFrom("deployment_events")
      .selectAll()
      .where("deployment_id", "in", (eb) =>
        eb.selectFrom("deployments").select("id").where("model", "=", model),
      )
      .unionAll((eb) =>
        eb
          .selectFrom("deployment_events")
          .selectAll()
          .where("deployment_id", "is", null)
          .where("model", "=", model),
      )
      .orderBy("id")
      .compile();
  }
}
