import { type ColumnBuilder, ValueError } from "./column-builder.js";
import { LineReader } from "./line-reader.js";

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;
/** 1 for the bytes that end an unquoted field (comma, LF, CR): one load and test per byte, not three. */
const ENDS_FIELD = new Uint8Array(256);
ENDS_FIELD[COMMA] = 1;
ENDS_FIELD[LF] = 1;
ENDS_FIELD[CR] = 1;

/** A CSV file (RFC 4180) read record by record, its first record the header. */
export class CsvReader extends LineReader {
  private slots: Array<ColumnBuilder | undefined> = [];
  // One record's fields, reused: byte bounds in pairs, and the text of the quoted ones.
  private bounds: Int32Array<ArrayBuffer> = new Int32Array(64);
  private quoted: Array<string | undefined> = [];
  private count = 0;

  protected records(buffer: Buffer, final: boolean): number {
    let start = 0;
    // Records that end before the buffer's last newline and hold no quote take the plain path.
    const lastNewline = buffer.lastIndexOf(LF);
    let quote = -1;
    while (start < buffer.length) {
      if (this.header.length > 0 && start <= lastNewline) {
        if (quote < start) quote = indexOrEnd(buffer, QUOTE, start);
        const end = this.plainRecord(buffer, start, quote);
        if (end >= 0) {
          start = end;
          continue;
        }
      }
      const end = this.record(buffer, start, final);
      if (end < 0) return start;
      start = end;
    }
    return start;
  }

  /**
   * The fast path for a record with no quote that ends before the buffer's last newline (the
   * newline stops every scan, so the byte loop needs no bounds check): scans its fields, then,
   * if the record ends before `quote` (the next quote's position), adds them and returns where
   * the next record begins. Otherwise it returns −1 having added nothing, and record() parses it.
   */
  private plainRecord(buffer: Buffer, start: number, quote: number): number {
    let bounds = this.bounds;
    let count = 0;
    let i = start;
    let c = buffer[i] as number;
    for (;;) {
      const fieldStart = i;
      while (ENDS_FIELD[c] === 0) c = buffer[++i] as number;
      if (2 * count + 2 > bounds.length) bounds = this.growBounds();
      bounds[2 * count] = fieldStart;
      bounds[2 * count + 1] = i;
      count++;
      if (c !== COMMA) break;
      c = buffer[++i] as number;
    }
    // A record ends at LF, CRLF or a lone CR, as in record().
    const end = c === CR && buffer[i + 1] === LF ? i + 2 : i + 1;
    if (end > quote) return -1;
    const line = this.line++;
    if (count === 1 && bounds[0] === bounds[1]) return end;
    if (count !== this.header.length)
      this.fail(`${count} fields where the header has ${this.header.length}`, line);
    const slots = this.slots;
    try {
      for (let index = 0; index < count; index++) {
        const builder = slots[index];
        if (builder) builder.addBytes(buffer, bounds[2 * index] as number, bounds[2 * index + 1] as number);
      }
    } catch (error) {
      if (error instanceof ValueError) this.fail(error.message, line);
      throw error;
    }
    return end;
  }

  /** Parses one record from `start`; returns where the next begins, or −1 if the buffer cuts it off. */
  private record(buffer: Buffer, start: number, final: boolean): number {
    const startLine = this.line;
    const length = buffer.length;
    this.count = 0;
    let lines = 0;
    let i = start;
    for (;;) {
      if (buffer[i] === QUOTE) {
        const quoted = readQuoted(buffer, i + 1, final);
        if (quoted === null) {
          if (final) this.fail("a quoted field is not closed", startLine);
          return -1;
        }
        this.field(i, i, quoted.text);
        lines += quoted.lines;
        i = quoted.next;
        const c = buffer[i];
        if (i < length && c !== COMMA && c !== LF && c !== CR)
          this.fail("text after a closing quote", startLine + lines);
      } else {
        const fieldStart = i;
        let c = buffer[i];
        while (i < length && c !== COMMA && c !== LF && c !== CR) c = buffer[++i];
        this.field(fieldStart, i, undefined);
      }
      if (i >= length && !final) return -1;
      if (buffer[i] === COMMA) {
        i++;
        continue;
      }
      if (buffer[i] === CR) {
        i++;
        if (i >= length && !final) return -1;
      }
      if (buffer[i] === LF) i++;
      break;
    }
    this.line = startLine + lines + 1;
    this.take(buffer, startLine);
    return i;
  }

  private field(start: number, end: number, text: string | undefined): void {
    const index = this.count++;
    if (2 * index + 2 > this.bounds.length) this.growBounds();
    this.bounds[2 * index] = start;
    this.bounds[2 * index + 1] = end;
    this.quoted[index] = text;
  }

  private growBounds(): Int32Array<ArrayBuffer> {
    const grown = new Int32Array(this.bounds.length * 2);
    grown.set(this.bounds);
    this.bounds = grown;
    return grown;
  }

  private text(buffer: Buffer, index: number): string {
    return this.quoted[index] ?? buffer.toString("utf8", this.bounds[2 * index], this.bounds[2 * index + 1]);
  }

  private take(buffer: Buffer, line: number): void {
    if (this.count === 1 && this.quoted[0] === undefined && this.bounds[0] === this.bounds[1]) return;
    if (this.header.length === 0) {
      this.header = Array.from({ length: this.count }, (_, index) => this.text(buffer, index));
      const duplicate = this.header.find((name, index) => this.header.indexOf(name) !== index);
      if (duplicate !== undefined)
        this.fail(`the header names column ${JSON.stringify(duplicate)} twice`, line);
      this.slots = this.header.map((name) => this.builderFor(name));
      return;
    }
    if (this.count !== this.header.length) {
      this.fail(`${this.count} fields where the header has ${this.header.length}`, line);
    }
    for (let index = 0; index < this.count; index++) {
      const builder = this.slots[index];
      if (!builder) continue;
      const text = this.quoted[index];
      try {
        if (text === undefined)
          builder.addBytes(buffer, this.bounds[2 * index] as number, this.bounds[2 * index + 1] as number);
        else builder.addField(text);
      } catch (error) {
        if (error instanceof ValueError) this.fail(error.message, line);
        throw error;
      }
    }
  }
}

/** Where `byte` first occurs from `from`, or the buffer's length if it does not. */
function indexOrEnd(buffer: Buffer, byte: number, from: number): number {
  const at = buffer.indexOf(byte, from);
  return at < 0 ? buffer.length : at;
}

/** A quoted field's text from just after its opening quote, or null if the buffer ends inside it. */
function readQuoted(
  buffer: Buffer,
  from: number,
  final: boolean,
): { text: string; next: number; lines: number } | null {
  let text = "";
  let segment = from;
  let lines = 0;
  for (let i = from; i < buffer.length; i++) {
    const c = buffer[i];
    if (c === LF) lines++;
    if (c !== QUOTE) continue;
    if (i + 1 >= buffer.length && !final) return null;
    if (buffer[i + 1] === QUOTE) {
      text += buffer.toString("utf8", segment, i + 1);
      segment = i + 2;
      i++;
      continue;
    }
    return { text: text + buffer.toString("utf8", segment, i), next: i + 1, lines };
  }
  return null;
}
