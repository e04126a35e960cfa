import { createReadStream } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { extname } from "node:path";
import type { Dataset } from "../core/drift/compare.js";
import { InputError } from "../core/errors.js";
import { ColumnBuilder, type KindOverride, ValueError } from "./column-builder.js";

/** What to read from a file. */
export interface ReadOptions {
  /** Only these columns (default: all). */
  columns?: readonly string[];
  /** Columns whose kind is given rather than detected. */
  kinds?: ReadonlyMap<string, KindOverride>;
  /** Bytes per read (default 64 KiB); a record cut by a read's end is carried over to the next. */
  chunkSize?: number;
  /** Told the size of each read as it is taken in (a progress bar over the file's bytes). */
  onRead?: (bytes: number) => void;
}

/** A file read: its columns in the order of the file, with their values, and its header. */
export interface DatasetFile {
  path: string;
  format: "csv" | "jsonl";
  header: string[];
  data: Dataset;
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;
/** 1 for the bytes that end an unquoted field (comma, LF, CR): one load and test per byte, not three. */
const ENDS_FIELD = new Uint8Array(256);
ENDS_FIELD[COMMA] = 1;
ENDS_FIELD[LF] = 1;
ENDS_FIELD[CR] = 1;

/**
 * Reads a CSV file (RFC 4180: a header row, `"` quoting with `""` escapes, CRLF or LF) or a
 * JSON Lines file (one object per line), chosen by the extension (.csv, .jsonl, .ndjson) or else
 * by the first character, in one streaming pass. Empty fields and JSON nulls are missing values.
 * Throws InputError naming the file, and the line for a malformed one.
 */
export async function readDataset(path: string, options: ReadOptions = {}): Promise<DatasetFile> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new InputError(`${path}: no such file`);
  if (!info.isFile()) throw new InputError(`${path}: not a file`);
  const format = await detectFormat(path);
  const reader = format === "csv" ? new CsvReader(path, options) : new JsonLinesReader(path, options);
  const handle = await open(path, "r");
  try {
    await readThrough(handle, reader, info.size, options.chunkSize ?? 1 << 16, options.onRead);
  } finally {
    await handle.close();
  }
  const data = new Map([...reader.builders()].map(([name, builder]) => [name, builder.finish()]));
  return { path, format, header: reader.header, data };
}

/**
 * Reads a CSV or JSON Lines body already in memory (an upload), by the same rules as
 * readDataset and in one pass over the bytes as they are: nothing is copied to a file to be
 * read back. Throws InputError naming `name` and the line.
 */
export function parseDataset(
  body: Buffer,
  format: "csv" | "jsonl",
  name: string,
  options: ReadOptions = {},
): DatasetFile {
  const reader = format === "csv" ? new CsvReader(name, options) : new JsonLinesReader(name, options);
  const consumed = reader.push(body);
  reader.end(body.subarray(consumed));
  const data = new Map([...reader.builders()].map(([column, builder]) => [column, builder.finish()]));
  return { path: name, format, header: reader.header, data };
}

/**
 * Feeds the file to the reader through one buffer, reused: the record that a read cuts off is
 * moved to the buffer's start and completed by the next read. A stream would allocate a fresh
 * chunk per read, and joining the cut record to the next chunk another, garbage that is freed
 * only when the collector gets round to it and so raised the peak memory of a read by several
 * MB. The buffer grows only for a record longer than itself.
 */
async function readThrough(
  handle: FileHandle,
  reader: LineReader,
  size: number,
  chunkSize: number,
  onRead?: (bytes: number) => void,
) {
  let buffer = Buffer.allocUnsafe(Math.max(chunkSize, 1));
  let kept = 0;
  let read = 0;
  let sized = false;
  for (;;) {
    if (kept === buffer.length) {
      const grown = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(grown, 0, 0, kept);
      buffer = grown;
    }
    const { bytesRead } = await handle.read(buffer, kept, buffer.length - kept, null);
    if (bytesRead === 0) break;
    read += bytesRead;
    onRead?.(bytesRead);
    const end = kept + bytesRead;
    const consumed = reader.push(buffer.subarray(0, end));
    buffer.copyWithin(0, consumed, end);
    kept = end - consumed;
    // Arrays sized once, from the records in the first bytes: peak memory stays near the values'.
    if (!sized && reader.recordsRead() >= 100) {
      reader.reserve(Math.ceil((size / read) * reader.recordsRead() * 1.02) + 16);
      sized = true;
    }
  }
  reader.end(buffer.subarray(0, kept));
}

async function detectFormat(path: string): Promise<"csv" | "jsonl"> {
  const extension = extname(path).toLowerCase();
  if (extension === ".csv") return "csv";
  if (extension === ".jsonl" || extension === ".ndjson") return "jsonl";
  for await (const chunk of createReadStream(path, { start: 0, end: 4095 })) {
    const text = (chunk as Buffer)
      .toString("utf8")
      .replace(/^\uFEFF/, "")
      .trimStart();
    return text.startsWith("{") ? "jsonl" : "csv";
  }
  return "csv";
}

/** Shared by both formats: the columns wanted, their builders, and errors with a line number. */
abstract class LineReader {
  header: string[] = [];
  protected readonly columns = new Map<string, ColumnBuilder>();
  protected line = 1;
  private started = false;

  constructor(
    protected readonly path: string,
    private readonly options: ReadOptions,
  ) {}

  builders(): Map<string, ColumnBuilder> {
    return this.columns;
  }

  /** Records read so far. */
  recordsRead(): number {
    return this.line - 1;
  }

  /** Sizes every numeric column for about this many values. */
  reserve(rows: number): void {
    for (const builder of this.columns.values()) builder.reserve(rows);
  }

  /** Reads the whole records at the start of `buffer` and returns how many bytes they took. */
  push(buffer: Buffer): number {
    if (this.started) return this.records(buffer, false);
    // A UTF-8 byte order mark may arrive split across the first reads.
    if (buffer.length < 3) return 0;
    const body = this.start(buffer);
    return buffer.length - body.length + this.records(body, false);
  }

  /** The bytes left at the end of the file: the last record, which may lack its newline. */
  end(rest: Buffer): void {
    if (rest.length > 0) this.records(this.started ? rest : this.start(rest), true);
    if (this.header.length === 0) throw new InputError(`${this.path}: no data (the file is empty)`);
  }

  private start(buffer: Buffer): Buffer {
    this.started = true;
    return buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? buffer.subarray(3) : buffer;
  }

  /** Reads whole records from the buffer and returns how many bytes they took. */
  protected abstract records(buffer: Buffer, final: boolean): number;

  protected builderFor(name: string): ColumnBuilder | undefined {
    if (this.options.columns && !this.options.columns.includes(name)) return undefined;
    let builder = this.columns.get(name);
    if (!builder) {
      builder = new ColumnBuilder(name, this.options.kinds?.get(name));
      this.columns.set(name, builder);
    }
    return builder;
  }

  protected fail(message: string, line = this.line): never {
    throw new InputError(`${this.path}:${line}: ${message}`);
  }

  /** Runs `add`, turning a refused value into an error on this line. */
  protected guard(add: () => void): void {
    try {
      add();
    } catch (error) {
      if (error instanceof ValueError) this.fail(error.message);
      throw error;
    }
  }
}

class CsvReader extends LineReader {
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

class JsonLinesReader extends LineReader {
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
