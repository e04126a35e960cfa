import { type Command, InvalidArgumentError } from "commander";
import { SLUG_PATTERN } from "../registry/deployment-words.js";
import { egressPolicyOf } from "./egress-flag.js";
import { configOf, type Io } from "./io.js";
import { runSync, type SyncFlags, type SyncLoop, syncOptions } from "./sync.js";

interface KubernetesFlags extends SyncFlags {
  context?: string;
  namespace?: string;
  environment: string;
  watch?: boolean;
}

/** A namespace's name is a DNS-1123 label (Kubernetes refuses any other). */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * `tenure sync kubernetes`: registers each workload labelled `tenure.dev/model` once its rollout
 * is available, and reports ghosts, zombies and version mismatches; `--watch` follows the cluster.
 */
export function syncKubernetesCommand(sync: Command, io: Io): void {
  syncOptions(
    sync
      .command("kubernetes")
      .summary(
        "register labelled workloads when their rollout is available; report ghosts, zombies, mismatches",
      )
      .description(
        "Reads Deployments, StatefulSets and KServe InferenceServices labelled tenure.dev/model, with the " +
          "annotations tenure.dev/model-version, tenure.dev/training-data-cutoff, tenure.dev/owner-team " +
          "(and tenure.dev/environment), from the kubeconfig's cluster (KUBECONFIG, ~/.kube/config, or the " +
          "pod's service account).",
      )
      .option("--context <name>", "the kubeconfig context to use (default: its current context)")
      .option(
        "--namespace <name>",
        "read only this namespace (default: all)",
        pattern("--namespace", NAMESPACE),
      )
      .option(
        "--environment <name>",
        "where a workload without a tenure.dev/environment annotation serves",
        pattern("--environment", SLUG_PATTERN),
        "production",
      )
      .option(
        "--watch",
        "follow the cluster: sync again whenever a labelled workload changes, until stopped",
      ),
  ).action(async (flags: KubernetesFlags) => {
    // Loaded when the command runs: @kubernetes/client-node is large, and every CLI start loads this file.
    const { KubernetesApi } = await import("../integrations/kubernetes/kubernetes-api.js");
    const { loadKubeConfig } = await import("../integrations/kubernetes/kube-config.js");
    const { fingerprintOf, observedOf } = await import("../integrations/kubernetes/kubernetes-reconcile.js");
    const { listWorkloads, WorkloadWatcher } = await import(
      "../integrations/kubernetes/kubernetes-watcher.js"
    );
    const scope = { namespace: flags.namespace ?? null, environment: flags.environment };
    const log = (line: string) => io.err(`tenure: ${line}\n`);
    const api = new KubernetesApi(loadKubeConfig(io.env, flags.context), {
      namespace: scope.namespace,
      egress: await egressPolicyOf(flags, await configOf(io)),
      onRetry: (r) => log(`${r.what}: ${r.reason}; trying again in ${Math.ceil(r.delay_ms / 1000)}s`),
    });
    const watcher = flags.watch
      ? new WorkloadWatcher(api, {
          fingerprint: (snapshot) => fingerprintOf(snapshot, scope.environment),
          everyMs: flags.every === undefined ? undefined : flags.every * 1000,
          log,
        })
      : undefined;
    const loop: SyncLoop | undefined = watcher && {
      next: (signal, failed) => watcher.next(signal, failed),
      retry: watcher.retry,
    };
    await runSync(
      io,
      "kubernetes",
      flags,
      async ({ signal }) => {
        const snapshot = watcher ? await watcher.snapshot(signal) : await listWorkloads(api, signal);
        return observedOf(snapshot, scope, Date.now());
      },
      loop,
    );
  });
}

function pattern(name: string, valid: RegExp) {
  return (value: string): string => {
    if (!valid.test(value)) throw new InvalidArgumentError(`${name} "${value}" is not a valid name`);
    return value;
  };
}
