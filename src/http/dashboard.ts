import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyRequest } from "fastify";

/**
 * The built dashboard (`npm run build` puts it in dist/web). Resolved from this file, so it is
 * found both from src/ under the tests and from dist/ in the installed package.
 */
export const DASHBOARD_ROOT = fileURLToPath(new URL("../../dist/web/", import.meta.url));

/**
 * The dashboard's views. Each path answers the dashboard's page, whose router reads the view
 * from the URL, so a shared link (`/models/fraud?environment=production`) opens the same view.
 * Any other path stays the API's 404.
 */
export const DASHBOARD_VIEWS = ["/", "/models/:name", "/alerts", "/deliveries", "/sweeps"] as const;

export interface DashboardOptions {
  root?: string;
  version: string;
}

/**
 * Serves the dashboard at `/`: its hashed assets with a year's cache, and its page at every view.
 * A client that asks for JSON at `/` gets the API's links, as before the dashboard existed.
 * Returns whether the dashboard is built.
 */
export async function registerDashboard(app: FastifyInstance, options: DashboardOptions): Promise<boolean> {
  const root = options.root ?? DASHBOARD_ROOT;
  const built = existsSync(join(root, "index.html"));
  const links = {
    name: "tenure",
    version: options.version,
    links: { api: "/v1/deployments", openapi: "/openapi.json", health: "/healthz", metrics: "/metrics" },
    ...(built ? {} : { dashboard: "not built: run `npm run build`" }),
  };
  if (!built) {
    app.get("/", { schema: { hide: true } }, async () => links);
    return false;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    index: false,
    wildcard: false,
    // Vite names assets by content hash: they never change under the same name.
    setHeaders(response, path) {
      response.setHeader(
        "cache-control",
        path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
  for (const view of DASHBOARD_VIEWS) {
    app.get(view, { schema: { hide: true } }, async function dashboardView(request, reply) {
      if (view === "/" && wantsJson(request)) return links;
      return reply
        .header("cache-control", "no-cache")
        .type("text/html; charset=utf-8")
        .sendFile("index.html");
    });
  }
  return true;
}

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}
