import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOneLineFailure, runTenure, startServe, tempDir } from "../support/process.js";

describe.concurrent("the environment of the tenure process", { timeout: 60_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());

  it.each([
    ["serve", "TENURE_PORT", "abc", "TENURE_PORT must be a whole number from 1 to 65535"],
    ["serve", "TENURE_LOG_LEVEL", "loud", "TENURE_LOG_LEVEL must be one of"],
    [
      "serve",
      "TENURE_BACKGROUND_CHECKPOINTS",
      "off",
      "TENURE_BACKGROUND_CHECKPOINTS must be 0 (off) or 1 (on)",
    ],
    ["ls", "TENURE_URL", "ftp://tenure.example.com", "TENURE_URL must be an http:// or https:// URL"],
    ["ls", "TENURE_PG_PREPARED_STATEMENTS", "no", "TENURE_PG_PREPARED_STATEMENTS must be 0 (off) or 1 (on)"],
    ["sweep", "TENURE_HEAP_GROWING_PERCENT", "-5", "TENURE_HEAP_GROWING_PERCENT must be a whole number"],
    ["token create --scope read", "TENURE_PORT", "0", "TENURE_PORT must be a whole number"],
  ])(
    "tenure %s refuses %s=%s: exit 2, one line naming the variable, no database made",
    async (command, name, value, message) => {
      const args = command.split(" ");
      const cwd = join(dir.path, `${name}-${args[0]}`);
      mkdirSync(cwd);
      const result = await runTenure(args, { cwd, env: { [name]: value } });
      expect(expectOneLineFailure(result, 2)).toContain(`tenure: ${message}`);
      expect(readdirSync(cwd)).toEqual([]);
    },
  );

  it("tenure serve listens on TENURE_PORT when no --port is given", async () => {
    const cwd = tempDir();
    const server = await startServe({ cwd: cwd.path, database: "fleet.db", portVia: "environment" });
    try {
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(200);
      expect(existsSync(join(cwd.path, "fleet.db"))).toBe(true);
    } finally {
      await server.stop();
      cwd.remove();
    }
  });
});
