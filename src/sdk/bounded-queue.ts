/**
 * A first-in first-out queue of fixed capacity that drops its oldest items to make room, as a
 * ring, so a full queue costs the same per item as an empty one: while Tenure is down the model
 * server keeps recording at full speed and memory stays flat.
 */
export class BoundedQueue<T> {
  private readonly slots: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a whole number ≥ 1");
    this.slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Adds at the back; returns how many old items were dropped for it (0 or 1). */
  push(item: T): number {
    const tail = (this.head + this.count) % this.capacity;
    this.slots[tail] = item;
    if (this.count < this.capacity) {
      this.count++;
      return 0;
    }
    this.head = (this.head + 1) % this.capacity;
    return 1;
  }

  /**
   * Takes up to `max` items from the front, stopping before the first that `together` says does
   * not belong with the first taken.
   */
  take(max: number, together: (first: T, item: T) => boolean = () => true): T[] {
    const taken: T[] = [];
    while (taken.length < max && this.count > 0) {
      const item = this.slots[this.head] as T;
      if (taken.length > 0 && !together(taken[0] as T, item)) break;
      taken.push(item);
      this.slots[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
    }
    return taken;
  }

  /**
   * Puts items taken earlier back at the front, in their order. They are older than anything
   * queued since, so when there is not room for all, the oldest of them are the ones dropped;
   * returns how many.
   */
  putBack(items: readonly T[]): number {
    const room = this.capacity - this.count;
    const kept = items.length <= room ? items : items.slice(items.length - room);
    for (let i = kept.length - 1; i >= 0; i--) {
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.slots[this.head] = kept[i];
      this.count++;
    }
    return items.length - kept.length;
  }

  /** Empties the queue; returns how many items it held. */
  clear(): number {
    const held = this.count;
    this.slots.fill(undefined);
    this.head = 0;
    this.count = 0;
    return held;
  }
}
