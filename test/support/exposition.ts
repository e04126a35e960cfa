/** One sample of Prometheus's text exposition format (0.0.4). */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the text exposition format: `# HELP` and `# TYPE` lines by metric name, and each sample
 * with its labels (escapes `\\`, `\"` and `\n` read back). Throws on a line it cannot read, so a
 * malformed exposition fails the test that scraped it.
 */
export function parseExposition(text: string): {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
} {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === "TYPE" ? types : help).set(meta[2] as string, meta[3] as string);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a line of the exposition format: ${line}`);
    samples.push({
      name: sample[1] as string,
      labels: parseLabels(sample[3] ?? ""),
      value: parseValue(sample[4] as string),
    });
  }
  return { samples, types, help };
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/y;
  while (pair.lastIndex < text.length) {
    const match = pair.exec(text);
    if (!match) throw new Error(`labels not in the exposition format: {${text}}`);
    labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, (_, c: string) =>
      c === "n" ? "\n" : c,
    );
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  // prom-client writes NaN as `Nan` (its event loop lag before any sample); Prometheus reads
  // NaN in any case (Go's strconv.ParseFloat).
  if (/^nan$/i.test(text)) return Number.NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`not a sample value: ${text}`);
  return value;
}

/** The samples of `name` whose labels include every one of `labels`. */
export function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
}

/** The value of the one sample of `name` with `labels`; throws unless exactly one matches. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = find(samples, name, labels);
  if (found.length !== 1)
    throw new Error(`${found.length} samples of ${name} with ${JSON.stringify(labels)}, not one`);
  return (found[0] as Sample).value;
}
