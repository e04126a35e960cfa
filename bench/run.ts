/**
 * Runs one benchmark by name: `npm run bench -- drift|gateway|load|registry|rollup|scaling|sweep|ttl|verdicts [options]`. Each benchmark measures
 * Tenure against a named peer in the same run and writes bench/results/<name>-*.json.
 */
import { driftBench } from "./drift.js";
import { gatewayBench } from "./gateway.js";
import { UsageError } from "./lib/bench-options.js";
import type { Bench } from "./lib/bench-run.js";
import { loadBench } from "./load.js";
import { registryBench } from "./registry.js";
import { rollupBench } from "./rollup.js";
import { scalingBench } from "./scaling.js";
import { sweepBench } from "./sweep.js";
import { ttlBench } from "./ttl.js";
import { verdictsBench } from "./verdicts.js";

const BENCHMARKS: Record<string, Bench> = Object.fromEntries(
  [
    driftBench,
    gatewayBench,
    loadBench,
    registryBench,
    rollupBench,
    scalingBench,
    sweepBench,
    ttlBench,
    verdictsBench,
  ].map((bench) => [bench.name, bench]),
);

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
  if (error instanceof UsageError) {
    process.stderr.write(`bench ${name}: ${error.message} (see --help)\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(
      `bench ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
