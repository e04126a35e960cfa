import type { FastifyReply, FastifyRequest } from "fastify";
import { ForbiddenError, TokenExpiredError, UnauthenticatedError } from "../core/errors.js";
import type { TokenScope } from "../core/words.js";
import type { Actor } from "../registry/actor.js";
import { scopeAllows, type TokenCache } from "./token-auth.js";

declare module "fastify" {
  interface FastifyRequest {
    actor?: Actor;
  }
}

export interface AuthOptions {
  tokens: TokenCache;
  /** Lets anyone read without a token; changes still need one. */
  publicRead: boolean;
}

const ANONYMOUS: Actor = { name: "anonymous", key_scope: "anonymous", team: null };

/**
 * Bearer-token authentication (RFC 6750; the scheme name is case-insensitive, RFC 9110 §11.1) for /v1: reads need `read`, everything else `write`.
 * A POST that changes nothing (`config: { readOnly: true }`, the gate) is a read.
 * A token bound to a team is checked again by the registry against the model it changes.
 */
export function bearerAuth(options: AuthOptions) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const reads =
      request.method === "GET" || request.method === "HEAD" || request.routeOptions.config.readOnly === true;
    const needed: TokenScope = reads ? "read" : "write";
    const header = request.headers.authorization ?? queryToken(request);
    if (header === undefined && needed === "read" && options.publicRead) {
      request.actor = ANONYMOUS;
      return;
    }
    const match = header === undefined ? null : /^Bearer +([A-Za-z0-9._~+/=-]{1,512}) *$/i.exec(header);
    if (!match?.[1]) {
      throw new UnauthenticatedError(
        header === undefined
          ? `this request needs a bearer token: create one with \`tenure token create --scope ${needed}\``
          : "the Authorization header must be `Bearer <token>`",
      );
    }
    const checked = await options.tokens.check(match[1]);
    if (checked.kind === "expired") {
      // RFC 6750 §3.1: a token that expired is an invalid_token, which the challenge names.
      reply.header(
        "www-authenticate",
        'Bearer realm="tenure", error="invalid_token", error_description="expired"',
      );
      throw new TokenExpiredError(
        "the bearer token has expired: create a new one with `tenure token create`",
      );
    }
    if (checked.kind === "unknown") {
      throw new UnauthenticatedError("the bearer token is not valid or has been revoked");
    }
    const token = checked.token;
    if (!scopeAllows(token.scope, needed)) {
      throw new ForbiddenError(`this token has scope ${token.scope}; this request needs ${needed}`);
    }
    request.actor = {
      name: `token:${token.name ?? token.id}`,
      key_scope: `token:${token.id}`,
      team: token.owner_team,
      scope: token.scope,
    };
  };
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route also takes its token as `?token=` (calendar subscriptions cannot send headers). */
    queryToken?: boolean;
    /** A POST that changes nothing (its input is too large for a query string): `read` suffices. */
    readOnly?: boolean;
  }
}

function queryToken(request: FastifyRequest): string | undefined {
  if (!request.routeOptions.config.queryToken) return undefined;
  const token = (request.query as { token?: unknown } | undefined)?.token;
  return typeof token === "string" ? `Bearer ${token}` : undefined;
}

export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new UnauthenticatedError("this request was not authenticated");
  return request.actor;
}

/** Operations on the whole fleet (policy reloads, dead-letter retries) need an unbound admin token. */
export function requireAdmin(request: FastifyRequest): Actor {
  const actor = actorOf(request);
  if (actor.scope !== "admin" || actor.team !== null) {
    throw new ForbiddenError("this request needs a token with scope admin that is not bound to a team");
  }
  return actor;
}
