/**
 * Seeds a database for bench/lib/steady-sweeps.mjs with the sweep benchmark's fleet, using the
 * workload of the build in TREE, and writes its policy file.
 *
 *   npx tsx bench/lib/seed-sweep-fleet.mts TREE DB COUNT AT POLICIES
 */
import { writeFileSync } from "node:fs";

const [tree, db, count, at, policies] = process.argv.slice(2);
if (!tree || !db || !count || !at || !policies) {
  process.stderr.write("usage: npx tsx bench/lib/seed-sweep-fleet.mts TREE DB COUNT AT POLICIES\n");
  process.exit(2);
}
const workload = await import(`${tree}/bench/lib/sweep-workload.ts`);
writeFileSync(policies, workload.policyYaml());
process.stdout.write(`${JSON.stringify(await workload.seedFleet(db, Number(count), Number(at)))}\n`);
