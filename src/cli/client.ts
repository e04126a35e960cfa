import { egressPolicyOf } from "./egress-flag.js";
import { LocalClient } from "./local-client.js";
import { RemoteClient } from "./remote-client.js";
import type { TenureClient } from "./tenure-client.js";

/**
 * TENURE_URL points the client at a server (with TENURE_TOKEN); without it the CLI opens the
 * database itself, as the server would.
 */
export async function clientFrom(
  env: NodeJS.ProcessEnv,
  databaseFlag?: string,
  policiesFlag?: string,
): Promise<TenureClient> {
  // Loaded here, not at start-up: commands that never open a database start faster.
  const { configFrom } = await import("../config.js");
  const config = configFrom(env);
  if (config.url) return new RemoteClient(config.url, config.token);
  const { openContext } = await import("../context.js");
  return new LocalClient(
    await openContext(databaseFlag ?? config.databaseUrl, {
      policies: policiesFlag ?? config.policies,
      env,
      publicUrl: config.publicUrl,
      preparedStatements: config.preparedStatements,
      // A sweep run here delivers its alerts from this process, under the same rule as a server's.
      egress: await egressPolicyOf({}, config),
      // Only init, serve, demo and token create make a database: a typo must not pass a CI gate.
      mustExist: true,
    }),
  );
}
