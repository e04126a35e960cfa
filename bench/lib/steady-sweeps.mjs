/**
 * A diagnostic for comparing two builds' sweeps (BENCHMARKS.md, session 11): opens a seeded
 * database with the build in TREE (its dist/), runs a first sweep, then K steady sweeps an hour
 * apart, printing each one's time. Run it under `node --trace-gc-nvp` to count what the young
 * generation promotes, or under `valgrind --tool=callgrind` to count instructions.
 *
 *   npx tsx bench/lib/seed-sweep-fleet.mts TREE DB COUNT AT POLICIES
 *   node bench/lib/steady-sweeps.mjs TREE DB POLICIES AT K
 */
const [tree, db, policies, at, k] = process.argv.slice(2);
if (!tree || !db || !policies || !at || !k) {
  process.stderr.write("usage: node bench/lib/steady-sweeps.mjs TREE DB POLICIES AT K\n");
  process.exit(2);
}
const { openContext } = await import(`${tree}/dist/context.js`);
const { boundHeapGrowth } = await import(`${tree}/dist/cli/heap.js`);
// As the server bounds heap growth: builds before session 10 read the environment when given
// nothing, later ones take the configured value and use their default for none.
boundHeapGrowth(undefined);
const context = await openContext(db, { policies, env: {} });
const first = Number(at);
await context.lifecycle.sweep({ at: first, trigger: "manual", actor: "bench" });
for (let i = 1; i <= Number(k); i++) {
  const started = performance.now();
  await context.lifecycle.sweep({ at: first + i * 3_600_000, trigger: "manual", actor: "bench" });
  process.stderr.write(`steady ${i}: ${(performance.now() - started).toFixed(0)} ms\n`);
}
await context.close();
