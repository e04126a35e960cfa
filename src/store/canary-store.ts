import { sql } from "kysely";
import type { CanaryState, CanaryVerdict } from "../core/words.js";
import { BoundStore } from "./bound-store.js";
import type { CanaryAnalysisRow, CanaryRow, DeploymentRow, NewCanaryRow } from "./schema.js";

/** What changes of a canary after an analysis. */
export interface CanaryChange {
  state: CanaryState;
  step_index: number;
  failures: number;
  inconclusive_streak: number;
  next_analysis_at: number;
  window_start: number;
  updated_at: number;
}

export interface NewCanaryAnalysis {
  deployment_id: number;
  at: number;
  window_start: number;
  window_end: number;
  verdict: CanaryVerdict;
  action: string;
  step_index: number;
  weight: number;
  figures: Record<string, unknown>;
}

/**
 * Canaries: their settings and progress, each analysis with its figures, and the share of
 * traffic (deployments.traffic_weight) the gateway's route table gives them.
 */
export interface CanaryStore {
  insertCanaries(rows: NewCanaryRow[]): Promise<void>;
  findCanary(deploymentId: number): Promise<CanaryRow | undefined>;
  /** The newest canary of a model in an environment, live or not. */
  latestCanary(model: string, environment: string): Promise<CanaryRow | undefined>;
  /**
   * Canaries of these models and environments that are still being analysed or paused, with a
   * live deployment: a model has at most one such canary in an environment.
   */
  liveCanaries(pairs: { model: string; environment: string }[]): Promise<CanaryRow[]>;
  /** Running canaries whose next analysis is due at `at`, the longest waiting first. */
  dueCanaries(at: number, limit: number): Promise<CanaryRow[]>;
  /**
   * Claims a due analysis by moving next_analysis_at from `expected` to `next`: true for the one
   * caller whose update changed the row, so analysers sharing a database never analyse the same
   * canary twice.
   */
  claimAnalysis(deploymentId: number, expected: number, next: number): Promise<boolean>;
  /** Records an analysis's outcome, only while the claim (next_analysis_at = `claimed`) holds. */
  updateCanary(deploymentId: number, claimed: number, change: CanaryChange): Promise<boolean>;
  /** Marks a canary no longer analysed (rolled back, promoted, its deployment ended). */
  setState(deploymentId: number, state: CanaryState, at: number): Promise<void>;
  insertAnalysis(analysis: NewCanaryAnalysis): Promise<void>;
  /** A canary's analyses, newest first. */
  listAnalyses(deploymentId: number, limit: number): Promise<CanaryAnalysisRow[]>;
  /** Sets the share of traffic the gateway sends a deployment, percent; null for none. */
  setTrafficWeight(deploymentId: number, weight: number | null): Promise<void>;
  /** Live primaries deployed at or after `since`: those a guardrail may still be baking. */
  primariesSince(since: number, limit: number, afterId: number): Promise<DeploymentRow[]>;
}

export class SqlCanaryStore extends BoundStore implements CanaryStore {
  async insertCanaries(rows: NewCanaryRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.executor.insertInto("canaries").values(rows).execute();
  }

  async findCanary(deploymentId: number): Promise<CanaryRow | undefined> {
    return this.executor
      .selectFrom("canaries")
      .selectAll()
      .where("deployment_id", "=", deploymentId)
      .executeTakeFirst();
  }

  async latestCanary(model: string, environment: string): Promise<CanaryRow | undefined> {
    return this.executor
      .selectFrom("canaries")
      .selectAll()
      .where("model", "=", model)
      .where("environment", "=", environment)
      .orderBy("deployment_id", "desc")
      .executeTakeFirst();
  }

  async liveCanaries(pairs: { model: string; environment: string }[]): Promise<CanaryRow[]> {
    if (pairs.length === 0) return [];
    const models = [...new Set(pairs.map((p) => p.model))];
    const rows = await this.executor
      .selectFrom("canaries")
      .innerJoin("deployments", "deployments.id", "canaries.deployment_id")
      .selectAll("canaries")
      .where("canaries.model", "in", models)
      .where("canaries.state", "in", [sql.lit<CanaryState>("running"), sql.lit<CanaryState>("paused")])
      .where("deployments.status", "=", sql.lit("active"))
      .execute();
    const wanted = new Set(pairs.map((p) => `${p.model}\u0000${p.environment}`));
    return rows.filter((row) => wanted.has(`${row.model}\u0000${row.environment}`));
  }

  async dueCanaries(at: number, limit: number): Promise<CanaryRow[]> {
    return this.executor
      .selectFrom("canaries")
      .selectAll()
      .where("state", "=", sql.lit("running"))
      .where("next_analysis_at", "<=", at)
      .orderBy("next_analysis_at")
      .orderBy("deployment_id")
      .limit(limit)
      .execute();
  }

  async claimAnalysis(deploymentId: number, expected: number, next: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("canaries")
      .set({ next_analysis_at: next })
      .where("deployment_id", "=", deploymentId)
      .where("next_analysis_at", "=", expected)
      .where("state", "=", sql.lit("running"))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async updateCanary(deploymentId: number, claimed: number, change: CanaryChange): Promise<boolean> {
    const result = await this.executor
      .updateTable("canaries")
      .set(change)
      .where("deployment_id", "=", deploymentId)
      .where("next_analysis_at", "=", claimed)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async setState(deploymentId: number, state: CanaryState, at: number): Promise<void> {
    await this.executor
      .updateTable("canaries")
      .set({ state, updated_at: at })
      .where("deployment_id", "=", deploymentId)
      .execute();
  }

  async insertAnalysis(analysis: NewCanaryAnalysis): Promise<void> {
    await this.executor
      .insertInto("canary_analyses")
      .values({ ...analysis, figures: JSON.stringify(analysis.figures) })
      .execute();
  }

  async listAnalyses(deploymentId: number, limit: number): Promise<CanaryAnalysisRow[]> {
    return this.executor
      .selectFrom("canary_analyses")
      .selectAll()
      .where("deployment_id", "=", deploymentId)
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
  }

  async setTrafficWeight(deploymentId: number, weight: number | null): Promise<void> {
    await this.executor
      .updateTable("deployments")
      .set({ traffic_weight: weight })
      .where("id", "=", deploymentId)
      .execute();
  }

  async primariesSince(since: number, limit: number, afterId: number): Promise<DeploymentRow[]> {
    return this.executor
      .selectFrom("deployments")
      .selectAll()
      .where("status", "=", sql.lit("active"))
      .where("role", "=", sql.lit("primary"))
      .where("deployment_date", ">=", since)
      .where("id", ">", afterId)
      .orderBy("id")
      .limit(limit)
      .execute();
  }
}
