import { createReadStream } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { extname } from "node:path";
import type { Dataset } from "../core/drift/compare.js";
import { InputError } from "../core/errors.js";
import { CsvReader } from "./csv-reader.js";
import { JsonLinesReader } from "./json-lines-reader.js";
import type { LineReader, ReadOptions } from "./line-reader.js";

export type { ReadOptions } from "./line-reader.js";

/** A file read: its columns in the order of the file, with their values, and its header. */
export interface DatasetFile {
  path: string;
  format: "csv" | "jsonl";
  header: string[];
  data: Dataset;
}

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
