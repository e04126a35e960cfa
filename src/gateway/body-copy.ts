/**
 * A copy of a body as it streams past, kept only up to `max` bytes: a shadow compares what the
 * gateway kept, and a body larger than that is not kept at all (it is not mirrored, and counted).
 */
export class BodyCopy {
  private chunks: Buffer[] = [];
  private size = 0;
  oversize = false;

  constructor(private readonly max: number) {}

  add(chunk: Buffer): void {
    if (this.oversize) return;
    this.size += chunk.length;
    if (this.size > this.max) {
      this.oversize = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(chunk);
  }

  /** The whole body, or null when it was over the bound. */
  body(): Buffer | null {
    if (this.oversize) return null;
    return this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
  }
}
