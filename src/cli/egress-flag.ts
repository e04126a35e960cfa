import type { Command } from "commander";
import type { Config } from "../config.js";
import type { EgressPolicy } from "../egress-policy.js";

export interface EgressFlag {
  allowPrivateEgress?: boolean;
}

/** Adds --allow-private-egress to a command that calls out (serve, the syncs). */
export function egressOption(command: Command): Command {
  return command.option(
    "--allow-private-egress",
    "let outbound calls (alert channels, MLflow, SageMaker, Kubernetes) reach loopback, private and link-local addresses, never a cloud metadata service (default: $TENURE_ALLOW_PRIVATE_EGRESS=1; CIDRs: $TENURE_EGRESS_ALLOW)",
  );
}

/** The egress policy of a command: its flag, else the environment's; strict by default. */
export async function egressPolicyOf(flags: EgressFlag, config: Config): Promise<EgressPolicy> {
  const { EgressPolicy } = await import("../egress-policy.js");
  return new EgressPolicy({
    allowPrivate: flags.allowPrivateEgress ?? config.allowPrivateEgress,
    allow: config.egressAllow,
  });
}
