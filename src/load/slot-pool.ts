/**
 * A first-in first-out queue on an array with a moving head: `shift()` without moving the
 * rest (an Array.shift per request would be O(n)). Emptied, it starts over; grown long with a
 * consumed front, it compacts now and then.
 */
export class Fifo<T> {
  private readonly items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as unknown as T;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }
}

/**
 * Free connection slots on a stack, requests that find none in a FIFO: what both HTTP clients
 * of the load engine hand out. A free slot is a pop; a released one goes to the oldest waiter.
 * (Why not undici's Pool: picking a connection there cost about 13% of the request rate
 * against a trivial server.)
 */
export class SlotPool<Slot, Waiter> {
  private readonly free: Slot[] = [];
  private readonly waiting = new Fifo<Waiter>();

  add(slot: Slot): void {
    this.free.push(slot);
  }

  /** A free slot; undefined when there is none (then `wait`). */
  take(): Slot | undefined {
    return this.free.pop();
  }

  wait(waiter: Waiter): void {
    this.waiting.push(waiter);
  }

  /** The oldest waiter, to be served on the slot just released; or undefined, the slot freed. */
  release(slot: Slot): Waiter | undefined {
    const next = this.waiting.shift();
    if (next === undefined) this.free.push(slot);
    return next;
  }
}
