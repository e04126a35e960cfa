/**
 * What grew between two heap snapshots (v8.writeHeapSnapshot, such as `npm run bench -- load
 * --snapshots` writes): objects counted by constructor (closures by function name, strings and
 * arrays by kind), with their shallow sizes, the largest growth first.
 *
 *   npx tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 30]
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

/** Kinds counted as one group whatever their name: there are too many distinct names to tell apart. */
const BY_KIND = new Set(["string", "concatenated string", "sliced string", "number", "hidden", "code"]);

export function census(file: string): Map<string, Group> {
  const heap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const groups = new Map<string, Group>();
  for (let i = 0; i < heap.nodes.length; i += width) {
    const type = types[heap.nodes[i + typeAt] ?? 0] ?? "?";
    const name = heap.strings[heap.nodes[i + nameAt] ?? 0] ?? "?";
    const key = BY_KIND.has(type) ? `(${type})` : `${type} ${name.slice(0, 80)}`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += heap.nodes[i + sizeAt] ?? 0;
    groups.set(key, group);
  }
  return groups;
}

const args = process.argv.slice(2);
const topAt = args.indexOf("--top");
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 30;
const [before, after] = args;
if (!before || !after) {
  process.stderr.write(
    "usage: npx tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]\n",
  );
  process.exit(2);
}
const a = census(before);
const b = census(after);
const rows = [...new Set([...a.keys(), ...b.keys()])].map((key) => {
  const x = a.get(key) ?? { count: 0, bytes: 0 };
  const y = b.get(key) ?? { count: 0, bytes: 0 };
  return { key, count: y.count, dCount: y.count - x.count, bytes: y.bytes, dBytes: y.bytes - x.bytes };
});
const total = (m: Map<string, Group>) => [...m.values()].reduce((s, g) => s + g.bytes, 0);
const mib = (n: number) => (n / 2 ** 20).toFixed(2);
process.stdout.write(`shallow total: ${mib(total(a))} MiB -> ${mib(total(b))} MiB\n`);
// Compiled code and what the compiler keeps beside it (feedback, deoptimization data...) grow as V8
// optimizes more of the program, as do V8's internal (hidden) objects; the rest is what the
// program itself holds.
const compiled = (key: string) => key === "(code)" || key === "(hidden)";
const delta = (keep: (key: string) => boolean) =>
  rows.filter((r) => keep(r.key)).reduce((s, r) => s + r.dBytes, 0);
process.stdout.write(
  `  of the change: code, compiler and V8-internal data ${mib(delta(compiled))} MiB, everything else ${mib(delta((k) => !compiled(k)))} MiB\n`,
);
process.stdout.write("   Δ bytes     Δ count     count  group\n");
for (const r of rows.sort((p, q) => q.dBytes - p.dBytes).slice(0, top)) {
  process.stdout.write(
    `${String(r.dBytes).padStart(10)} ${String(r.dCount).padStart(11)} ${String(r.count).padStart(9)}  ${r.key}\n`,
  );
}
