import { existsSync } from "node:fs";
import { delimiter } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { InputError } from "../../core/errors.js";
import type { EgressPolicy } from "../../egress-policy.js";

/** The kubeconfig a sync reads a cluster with, loaded as kubectl loads it and held to the egress policy. */

/**
 * Loads the kubeconfig as kubectl would: the files in KUBECONFIG (read from the command's
 * environment, merged as client-node merges them), else ~/.kube/config, else the pod's service
 * account; `context` picks one of its contexts. Refuses a missing context, and no configuration
 * at all, where client-node would quietly fall back to http://localhost:8080.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv, context?: string): KubeConfig {
  const kubeconfig = new KubeConfig();
  const files = (env.KUBECONFIG ?? "").split(delimiter).filter((f) => f !== "");
  try {
    if (files.length > 0) {
      for (const [i, file] of files.entries()) {
        if (!existsSync(file)) throw new Error(`${file} does not exist`);
        if (i === 0) kubeconfig.loadFromFile(file);
        else {
          const more = new KubeConfig();
          more.loadFromFile(file);
          kubeconfig.mergeConfig(more);
        }
      }
    } else {
      kubeconfig.loadFromDefault();
    }
  } catch (error) {
    throw new InputError(`the kubeconfig cannot be read: ${error instanceof Error ? error.message : error}`);
  }
  if (files.length === 0 && kubeconfig.getCurrentContext() === "loaded-context") {
    throw new InputError(
      "no kubeconfig: set KUBECONFIG, write ~/.kube/config, or run in a pod with a service account",
    );
  }
  if (context !== undefined) {
    if (!kubeconfig.getContextObject(context)) {
      const known = kubeconfig.getContexts().map((c) => c.name);
      throw new InputError(
        `--context ${context} is not in the kubeconfig${known.length > 0 ? ` (its contexts: ${known.join(", ")})` : ""}`,
      );
    }
    kubeconfig.setCurrentContext(context);
  }
  if (!kubeconfig.getCurrentCluster()) {
    throw new InputError(`the kubeconfig's context ${kubeconfig.getCurrentContext()} names no cluster`);
  }
  return kubeconfig;
}

/**
 * Puts the egress policy on every agent the kubeconfig makes: client-node builds one per call
 * and per watch in `createAgent` (with the cluster's CA, client certificate and TLS settings), so
 * wrapping it there covers lists and watches alike. Through a kubeconfig's `proxy-url` the proxy
 * makes the connection: only a cluster address written as an IP is checked then (docs/egress.md).
 */
export function guardKubeConfig(kubeconfig: KubeConfig, egress: EgressPolicy): void {
  type CreateAgent = (cluster: unknown, options: unknown) => import("node:http").Agent;
  const target = kubeconfig as unknown as { createAgent: CreateAgent };
  const create = target.createAgent.bind(kubeconfig);
  target.createAgent = (cluster, options) => egress.guardAgent(create(cluster, options));
}
