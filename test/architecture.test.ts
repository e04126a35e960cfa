import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

/** Every source file of src/ (tests aside), relative to src/ with `/` separators. */
function sourceFiles(folder = SRC): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const toKey = (path: string) => relative(SRC, path).split(sep).join("/");

/**
 * What each file imports: static imports and re-exports, `import type` included (a type-only
 * cycle is still two concepts that cannot be understood apart), and `import()` expressions.
 */
function importGraph(): { files: Map<string, string[]>; specifiers: Map<string, string[]> } {
  const files = new Map<string, string[]>();
  const specifiers = new Map<string, string[]>();
  for (const path of sourceFiles()) {
    const { importedFiles } = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
    const names = importedFiles.map((f) => f.fileName);
    specifiers.set(toKey(path), names);
    files.set(
      toKey(path),
      names
        .filter((n) => n.startsWith("."))
        .map((n) => toKey(resolve(dirname(path), n.replace(/\.js$/, ".ts")))),
    );
  }
  return { files, specifiers };
}

/** The strongly connected components with more than one member (Tarjan): each is a cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    for (const to of graph.get(node) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (stack.includes(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1 || graph.get(node)?.includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/**
 * What loading a file loads at once: its imports and re-exports that are not type-only. Under
 * verbatimModuleSyntax an `import { type A }` still loads its module, so only `import type` and
 * `export type` are left out, and `import()` expressions, which load when they run.
 */
function eagerImports(path: string): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly) {
      names.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) {
      names.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return names;
}

/** The packages a file and everything it loads at once load, by name. */
function eagerPackages(start: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const name of eagerImports(path)) {
      if (name.startsWith(".")) visit(resolve(dirname(path), name.replace(/\.js$/, ".ts")));
      else
        packages.add(
          name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : (name.split("/")[0] ?? name),
        );
    }
  };
  visit(start);
  return packages;
}

/** A file's top-level folder of src/ (`alerts`), or the file itself for files at the top (`config.ts`). */
const folderOf = (file: string) => file.split("/")[0] ?? file;

describe("the architecture of src/", () => {
  const { files, specifiers } = importGraph();

  it("reads the import graph of every source file", () => {
    expect(files.size).toBeGreaterThan(50);
    expect(files.get("context.ts")).toContain("store/database.ts");
  });

  it("has no cycle between files, direct or through others", () => {
    expect(cycles(files)).toEqual([]);
  });

  it("has no cycle between top-level folders, direct or through others", () => {
    const folders = new Map<string, string[]>();
    for (const [file, imports] of files) {
      const from = folderOf(file);
      const to = imports.map(folderOf).filter((folder) => folder !== from);
      folders.set(from, [...new Set([...(folders.get(from) ?? []), ...to])]);
    }
    expect(cycles(folders)).toEqual([]);
  });

  it("keeps core/ pure: its files import only other files of core/, no package and no Node module", () => {
    const outside = [...specifiers]
      .filter(([file]) => file.startsWith("core/"))
      .flatMap(([file, names]) =>
        names
          .filter(
            (name) => !name.startsWith(".") || !toKey(resolve(SRC, dirname(file), name)).startsWith("core/"),
          )
          .map((name) => `${file} imports ${name}`),
      );
    expect(outside).toEqual([]);
  });

  it("keeps http/ at the edge: only cli/ (to serve) imports it, so the store and the CLI need no HTTP for tokens", () => {
    const importers = [...files]
      .filter(([file, imports]) => !file.startsWith("http/") && imports.some((f) => f.startsWith("http/")))
      .map(([file]) => file);
    expect(importers.filter((file) => !file.startsWith("cli/"))).toEqual([]);
    expect(importers).toEqual(["cli/serve.ts"]);
  });

  it("reads process.env in one place, the CLI's io; config.ts parses what is read", () => {
    const readers = [...files.keys()].filter((file) =>
      readFileSync(join(SRC, file), "utf8").includes("process.env"),
    );
    expect(readers).toEqual(["cli/io.ts"]);
  });

  it("defines the shared words (roles, statuses, scopes, states) in core/, not in the store's schema", () => {
    // A union of string literals in the schema is a word of the domain spelled out a second time.
    const tables = [...files.keys()].filter((file) => file.startsWith("store/tables/"));
    expect(tables.length).toBeGreaterThan(0);
    for (const file of ["store/schema.ts", ...tables]) {
      const text = readFileSync(join(SRC, file), "utf8");
      expect(text.match(/"[^"]*"(?: \| "[^"]*")+/g) ?? [], file).toEqual([]);
    }
    expect(tables.filter((file) => files.get(file)?.includes("core/words.ts"))).not.toEqual([]);
  });

  it("keeps the SDK light for model servers: it loads no package, only Node's own modules and pure code", () => {
    const loaded = [...eagerPackages(join(SRC, "sdk/index.ts"))].filter((name) => !name.startsWith("node:"));
    expect(loaded).toEqual([]);
    const outside = [...files]
      .filter(([file]) => file.startsWith("sdk/"))
      .flatMap(([file, imports]) =>
        imports
          .filter((to) => !to.startsWith("sdk/") && !to.startsWith("core/") && to !== "version.ts")
          .map((to) => `${file} imports ${to}`),
      );
    expect(outside).toEqual([]);
  });

  it("starts the CLI without zod, the database drivers or the HTTP server: every command module loads them only when it runs", () => {
    // `tenure --help` and `--version` load every command's module; `tenure drift` is timed
    // against SciPy from its start (BENCHMARKS.md).
    const heavy = ["zod", "kysely", "pg", "better-sqlite3", "fastify", "pino", "yaml"];
    for (const file of sourceFiles(join(SRC, "cli"))) {
      const loaded = [...eagerPackages(file)].filter((name) => heavy.includes(name));
      expect(loaded, toKey(file)).toEqual([]);
    }
  });
});
