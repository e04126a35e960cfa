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

/** Shared by both formats: the columns wanted, their builders, and errors with a line number. */
export abstract class LineReader {
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
