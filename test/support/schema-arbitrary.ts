import fc, { type Arbitrary } from "fast-check";

/**
 * fast-check arbitraries derived from the JSON Schemas of /openapi.json, which zod writes from
 * each route's own schema: so the fuzzing follows the contract as it is, and a field added to a
 * route is fuzzed without anyone writing a generator for it. `schemaValue` makes values the schema
 * accepts (most of the time: a few keywords are approximated, which only makes more of them bad);
 * `mutated` breaks them in the ways clients and attackers do.
 */

// biome-ignore lint/suspicious/noExplicitAny: a JSON Schema is free-form JSON.
export type JsonSchema = Record<string, any>;

export interface SchemaContext {
  /** `components.schemas` of the document, for `$ref`. */
  components: Record<string, JsonSchema>;
  /** Values to mix in for a property of this name (existing models, teams…), so requests hit real rows. */
  hints?: Record<string, readonly unknown[]>;
}

const DAY_MS = 86_400_000;
const instants = fc
  .integer({ min: Date.parse("2020-01-01") / DAY_MS, max: Date.parse("2030-01-01") / DAY_MS })
  .chain((day) => fc.integer({ min: 0, max: DAY_MS - 1 }).map((ms) => day * DAY_MS + ms));

/** Values `schema` accepts; `name` is the property the value is for, when it is one. */
export function schemaValue(
  schema: JsonSchema,
  context: SchemaContext,
  name?: string,
  depth = 0,
): Arbitrary<unknown> {
  const own = plainValueOf(schema, context, depth);
  const hints = name === undefined ? undefined : context.hints?.[name];
  return hints && hints.length > 0 ? fc.oneof(fc.constantFrom(...hints), own) : own;
}

function plainValueOf(schema: JsonSchema, context: SchemaContext, depth: number): Arbitrary<unknown> {
  if (typeof schema.$ref === "string") {
    const target = context.components[schema.$ref.replace("#/components/schemas/", "")];
    return target ? schemaValue(target, context, undefined, depth + 1) : fc.jsonValue({ maxDepth: 2 });
  }
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  for (const key of ["anyOf", "oneOf"] as const) {
    if (Array.isArray(schema[key]) && schema[key].length > 0) {
      return fc.oneof(...schema[key].map((s: JsonSchema) => schemaValue(s, context, undefined, depth + 1)));
    }
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    return schemaValue(Object.assign({}, ...schema.allOf), context, undefined, depth + 1);
  }
  const type = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  if (type.length > 1) {
    return fc.oneof(
      ...type.map((t: string) => schemaValue({ ...schema, type: t }, context, undefined, depth)),
    );
  }
  switch (type[0]) {
    case "string":
      return stringOf(schema);
    case "integer":
      return fc.integer({
        min: Math.max(bound(schema, "minimum", "exclusiveMinimum", 1), -(2 ** 31)),
        max: Math.min(bound(schema, "maximum", "exclusiveMaximum", -1), 2 ** 31),
      });
    case "number":
      return fc.double({
        min: bound(schema, "minimum", "exclusiveMinimum", Number.EPSILON),
        max: bound(schema, "maximum", "exclusiveMaximum", -Number.EPSILON),
        noNaN: true,
        noDefaultInfinity: true,
      });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(
        schema.items ? schemaValue(schema.items, context, undefined, depth + 1) : fc.jsonValue(),
        {
          minLength: schema.minItems ?? 0,
          // Generated lists stay short: a route's limit is tested by the mutations, not by walking to it.
          maxLength: Math.min(schema.maxItems ?? 4, Math.max(schema.minItems ?? 0, 4)),
        },
      );
    case "object":
      return objectOf(schema, context, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function bound(schema: JsonSchema, inclusive: string, exclusive: string, nudge: number): number {
  if (typeof schema[inclusive] === "number") return schema[inclusive];
  if (typeof schema[exclusive] === "number")
    return schema[exclusive] + nudge * Math.max(1, Math.abs(schema[exclusive]));
  return nudge > 0 ? -1e9 : 1e9;
}

function stringOf(schema: JsonSchema): Arbitrary<string> {
  const maxLength = Math.min(schema.maxLength ?? 40, 200);
  const minLength = schema.minLength ?? 0;
  switch (schema.format) {
    case "date":
      return instants.map((ms) => new Date(ms).toISOString().slice(0, 10));
    case "date-time":
      return instants.map((ms) => new Date(ms).toISOString());
    case "uri":
    case "url":
      return fc.webUrl({ size: "small" });
    case "email":
      return fc.emailAddress();
  }
  if (typeof schema.pattern === "string") {
    try {
      return fc
        .stringMatching(new RegExp(schema.pattern), { size: "small" })
        .filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY));
    } catch {
      // A pattern fast-check cannot generate from (lookarounds): any string, mostly refused.
    }
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
}

function objectOf(schema: JsonSchema, context: SchemaContext, depth: number): Arbitrary<unknown> {
  const properties: Record<string, JsonSchema> = schema.properties ?? {};
  const required = new Set<string>(schema.required ?? []);
  const record: Record<string, Arbitrary<unknown>> = {};
  for (const [key, sub] of Object.entries(properties))
    record[key] = schemaValue(sub, context, key, depth + 1);
  const known = Object.keys(record).length > 0;
  const base = known
    ? fc.record(record, { requiredKeys: [...required].filter((k) => k in record) })
    : fc.constant({});
  const extra = schema.additionalProperties;
  if (extra && typeof extra === "object" && depth < 4) {
    const keys = schema.propertyNames?.pattern
      ? stringOf({ type: "string", pattern: schema.propertyNames.pattern, maxLength: 64 })
      : fc.string({ minLength: 1, maxLength: 12 });
    const values = schemaValue(extra, context, undefined, depth + 1);
    return fc
      .tuple(base, fc.dictionary(keys, values, { maxKeys: 3 }))
      .map(([fixed, more]) => ({ ...more, ...(fixed as object) }));
  }
  return base;
}

/** Values of every JSON type that break what a field expects: wrong types, extremes, odd text. */
export const NASTY_VALUES: Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    -0.000001,
    1e308,
    -1e308,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\u001b[31m",
    "\u202e",
    "\ud800",
    "😀",
    "ｆｒａｕｄ",
    "NaN",
    "Infinity",
    "-1",
    "1e400",
    "99999999999999999999999",
    "' OR 1=1 --",
    "../../etc/passwd",
    "__proto__",
    "constructor",
    "x".repeat(5000),
    [],
    [null],
    {},
    { $ne: null },
    { toString: "x" },
  ),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => Number(n)),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 50, max: 1200 }).map(deepNesting),
);

/** An array nested `depth` levels: `[[[…]]]`. */
export function deepNesting(depth: number): unknown {
  let value: unknown = "deep";
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

/** Keys that poison objects built by naive merging. */
export const PROTOTYPE_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
  "valueOf",
];

type Mutation =
  | { kind: "replace"; at: number; value: unknown }
  | { kind: "delete"; at: number }
  | { kind: "add-key"; at: number; key: string; value: unknown };

const mutations: Arbitrary<Mutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), value: NASTY_VALUES }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("add-key" as const),
      at: fc.nat(),
      key: fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 10 })),
      value: NASTY_VALUES,
    }),
  },
);

/** `valid` broken by one to three mutations, each at a node picked anywhere in it (the root too). */
export function mutated(valid: Arbitrary<unknown>): Arbitrary<unknown> {
  return fc
    .tuple(valid, fc.array(mutations, { minLength: 1, maxLength: 3 }))
    .map(([value, list]) => list.reduce((v, m) => applyMutation(v, m), structuredCloneJson(value)));
}

function structuredCloneJson(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** Every object and array in `value`, the root first. */
function containers(value: unknown, out: object[] = []): object[] {
  if (value !== null && typeof value === "object") {
    out.push(value);
    if (out.length < 500) for (const child of Object.values(value)) containers(child, out);
  }
  return out;
}

function applyMutation(value: unknown, m: Mutation): unknown {
  const nodes = containers(value);
  if (m.kind === "replace" && (nodes.length === 0 || m.at % (nodes.length + 1) === 0)) return m.value;
  const node = nodes[m.at % Math.max(nodes.length, 1)];
  if (!node) return m.kind === "replace" ? m.value : value;
  const keys = Object.keys(node);
  if (m.kind === "add-key") {
    if (Array.isArray(node)) node.push(m.value);
    // defineProperty makes `__proto__` an own key, which JSON.stringify then writes as it is.
    else
      Object.defineProperty(node, m.key, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return value;
  }
  const key = keys[m.at % Math.max(keys.length, 1)];
  if (key === undefined) return m.kind === "replace" ? m.value : value;
  if (m.kind === "delete") {
    if (Array.isArray(node)) node.splice(Number(key), 1);
    else delete (node as Record<string, unknown>)[key];
  } else {
    (node as Record<string, unknown>)[key] = m.value;
  }
  return value;
}

/** JSON text broken at the byte level: cut short, a byte flipped, or a control character let in. */
export function mangledText(text: Arbitrary<string>): Arbitrary<string> {
  return fc
    .tuple(text, fc.nat(), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 255 }))
    .map(([t, at, how, byte]) => {
      const cut = t.length === 0 ? 0 : at % t.length;
      switch (how) {
        case 0:
          return t.slice(0, cut);
        case 1:
          return `${t.slice(0, cut)}${String.fromCharCode(byte)}${t.slice(cut + 1)}`;
        case 2:
          return `${t.slice(0, cut)}${String.fromCharCode(byte % 32)}${t.slice(cut)}`;
        case 3:
          return `${t.slice(0, cut)}${t.slice(cut).replace(/"/, "'")}`;
        default:
          return `${t}${t.slice(0, cut)}`;
      }
    });
}
