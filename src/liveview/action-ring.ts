/** One thing done on a session's desktop, as the dashboard lists it. */
export interface ActionEntry {
  /** When it finished (ms since the epoch). */
  at: number;
  /** A tool call of a client, or a step of the session's agent (`run_cua_task`). */
  by: 'tool' | 'agent';
  /** What was done: the tool's name, or the step and its actions' names. */
  action: string;
  /** `ok`, or what went wrong (an error code, or how many actions failed). */
  outcome: string;
  durationMs?: number;
}

/** The last `capacity` items pushed, oldest first; older ones fall out. */
export class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`A ring holds at least one item, not ${capacity}.`);
  }

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The items held, oldest first. */
  list(): T[] {
    return this.items.length < this.capacity ? [...this.items] : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }

  get size(): number {
    return this.items.length;
  }
}
