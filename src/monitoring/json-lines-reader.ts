import { LineReader } from "./line-reader.js";

/** The byte that ends a line. */
const LF = 10;

/** A JSON Lines file read line by line: one object per line, its keys the columns. */
export class JsonLinesReader extends LineReader {
  private readonly seen = new Set<string>();

  protected records(buffer: Buffer, final: boolean): number {
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf(LF, start);
      if (newline < 0 && !final) return start;
      const end = newline < 0 ? buffer.length : newline;
      this.object(buffer.toString("utf8", start, end));
      this.line++;
      if (newline < 0) return buffer.length;
      start = newline + 1;
    }
  }

  private object(text: string): void {
    if (text.trim() === "") return;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      this.fail("not valid JSON");
    }
    if (typeof row !== "object" || row === null || Array.isArray(row)) this.fail("not a JSON object");
    for (const [name, value] of Object.entries(row as Record<string, unknown>)) {
      if (!this.seen.has(name)) {
        this.seen.add(name);
        this.header.push(name);
      }
      const builder = this.builderFor(name);
      if (!builder || value === null || value === undefined) continue;
      this.guard(() => {
        if (typeof value === "number") builder.addNumber(value);
        else if (typeof value === "string") builder.addCategory(value);
        else builder.addCategory(typeof value === "boolean" ? String(value) : JSON.stringify(value));
      });
    }
  }
}
