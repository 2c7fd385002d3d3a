/**
 * Free connection slots on a stack, requests that find none in a FIFO: what both HTTP clients
 * of the load engine hand out. A free slot is a pop; a released one goes to the oldest waiter.
 * (Why not undici's Pool: picking a connection there cost about 13% of the request rate
 * against a trivial server.)
 */
export class SlotPool<Slot, Waiter> {
  private readonly free: Slot[] = [];
  private readonly waiting: Waiter[] = [];
  private head = 0;

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
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as unknown as Waiter;
      // Compact now and then, not on every release: a shift() per request would be O(n).
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      return next;
    }
    this.free.push(slot);
    return undefined;
  }
}
