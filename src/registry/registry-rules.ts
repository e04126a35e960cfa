import { ForbiddenError, NotFoundError } from "../core/errors.js";
import type { ModelStore } from "../store/model-store.js";
import type { Actor } from "./actor.js";

/** The lock that serializes changes to the primaries of a model in an environment. */
export function lockKeyOf(model: string, environment: string): string {
  return `tenure:${model} ${environment}`;
}

/** Throws ForbiddenError when a team-bound actor touches another team's model. */
export function assertTeam(actor: Actor, team: string): void {
  if (actor.team !== null && actor.team !== team) {
    throw new ForbiddenError(
      `this token belongs to team ${actor.team} and cannot change team ${team}'s models`,
    );
  }
}

export async function requireModel(models: ModelStore, name: string) {
  const model = await models.findModel(name);
  if (!model) throw new NotFoundError(`model ${name} does not exist`);
  return model;
}
