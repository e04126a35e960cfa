import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, tempDir } from "../support/process.js";

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/*
 * The package as npm publishes it: packed from the built dist/ (scripts off: the tests run on a
 * build), unpacked into a project's node_modules. Its dependencies are the repository's own,
 * linked in, so the test needs no registry.
 */
describe("the packed tarball", { timeout: 60_000 }, () => {
  let project: ReturnType<typeof tempDir>;
  let packed: string[];

  beforeAll(async () => {
    project = tempDir();
    const { stdout } = await run(
      "npm",
      ["pack", "--ignore-scripts", "--json", "--pack-destination", project.path],
      { cwd: ROOT, env: cleanEnv() },
    );
    const [pack] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    if (!pack) throw new Error(`npm pack printed no package: ${stdout}`);
    packed = pack.files.map((f) => f.path);
    const target = join(project.path, "node_modules", "tenure");
    mkdirSync(target, { recursive: true });
    await run("tar", ["-xzf", join(project.path, pack.filename), "-C", target, "--strip-components=1"]);
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const dependency of Object.keys(manifest.dependencies)) {
      const link = join(project.path, "node_modules", dependency);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(ROOT, "node_modules", dependency), link, "dir");
    }
  });
  afterAll(() => project?.remove());

  it("holds the entry its exports name, with its types, and the CLI", () => {
    expect(packed).toEqual(expect.arrayContaining(["dist/index.js", "dist/index.d.ts", "bin/tenure.js"]));
  });

  it('imports with import("tenure") from another project: the registry, the drift functions and the clocks work', async () => {
    const script = `
      const tenure = await import("tenure");
      const { mkdtempSync } = await import("node:fs");
      const { join } = await import("node:path");
      const { tmpdir } = await import("node:os");
      const context = await tenure.openContext(join(mkdtempSync(join(tmpdir(), "tenure-lib-")), "lib.db"));
      const actor = { name: "lib", key_scope: "admin", team: null };
      const { deployment } = await context.registry.register(
        tenure.RegisterDeploymentBody.parse({
          model: "fraud-gbm", model_version: "1.0.0", training_data_cutoff: "2026-01-01", owner_team: "risk",
        }),
        actor,
      );
      await context.close();
      const numbers = (shift) => ({ kind: "numeric", values: Float64Array.from({ length: 200 }, (_, i) => i + shift) });
      const drift = tenure.compareDatasets(
        new Map([["amount", numbers(0)]]),
        new Map([["amount", numbers(150)]]),
      );
      console.log(JSON.stringify({
        types: Object.fromEntries(
          ["Registry", "openContext", "compareDatasets", "readDataset", "computeAge", "computeHealth", "InputError"]
            .map((name) => [name, typeof tenure[name]]),
        ),
        version: tenure.VERSION,
        registered: \`\${deployment.model} \${deployment.environment} \${deployment.status}\`,
        drifted: drift.dataset_drift,
      }));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: project.path,
      env: cleanEnv(),
    });
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string })
      .version;
    expect(JSON.parse(stdout)).toEqual({
      types: {
        Registry: "function",
        openContext: "function",
        compareDatasets: "function",
        readDataset: "function",
        computeAge: "function",
        computeHealth: "function",
        InputError: "function",
      },
      version,
      registered: "fraud-gbm production active",
      drifted: true,
    });
  });

  it('imports the SDK with import("tenure/sdk"), its types beside it, and stamps headers from it', async () => {
    expect(packed).toEqual(expect.arrayContaining(["dist/sdk/index.js", "dist/sdk/index.d.ts"]));
    const script = `
      const sdk = await import("tenure/sdk");
      const tenure = new sdk.TenureSdk({ url: "http://127.0.0.1:9", model: "fraud-gbm", servedVersion: "3.2.0", logger: null });
      console.log(JSON.stringify({
        types: Object.fromEntries(
          ["TenureClient", "TenureSdk", "withTenure", "tenureExpress", "tenureFastify", "TenureRequestError"]
            .map((name) => [name, typeof sdk[name]]),
        ),
        headers: tenure.headers(),
      }));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: project.path,
      env: cleanEnv(),
    });
    expect(JSON.parse(stdout)).toEqual({
      types: {
        TenureClient: "function",
        TenureSdk: "function",
        withTenure: "function",
        tenureExpress: "function",
        tenureFastify: "function",
        TenureRequestError: "function",
      },
      headers: { "tenure-model": "fraud-gbm", "tenure-model-version": "3.2.0" },
    });
  });
});
