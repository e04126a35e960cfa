/**
 * Runs one benchmark by name: `npm run bench -- drift|registry|sweep [options]`. Each benchmark measures
 * Tenure against a named peer in the same run and writes bench/results/<name>-*.json.
 */
import { DRIFT_USAGE, driftBench } from "./drift.js";
import { REGISTRY_USAGE, registryBench } from "./registry.js";
import { SWEEP_USAGE, sweepBench } from "./sweep.js";

const BENCHMARKS: Record<string, { run: (argv: string[]) => Promise<void>; usage: string }> = {
  drift: { run: driftBench, usage: DRIFT_USAGE },
  registry: { run: registryBench, usage: REGISTRY_USAGE },
  sweep: { run: sweepBench, usage: SWEEP_USAGE },
};

const [name, ...argv] = process.argv.slice(2);
const bench = name === undefined ? undefined : BENCHMARKS[name];
if (!bench || argv.includes("--help") || argv.includes("-h")) {
  process.stderr.write(
    `usage: npm run bench -- <name> [options]; benchmarks: ${Object.keys(BENCHMARKS).join(", ")}\n\n` +
      Object.values(BENCHMARKS)
        .map((b) => b.usage)
        .join("\n\n") +
      "\n",
  );
  process.exit(bench ? 0 : 2);
}
try {
  await bench.run(argv);
} catch (error) {
  process.stderr.write(
    `bench ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
}
