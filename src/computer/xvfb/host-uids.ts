/**
 * Host uids for computers when the server runs as root: each computer gets its own from a reserved
 * range, so one tenant's processes cannot count against, signal or read another's. A freed uid
 * goes to the back of the line, so the next computer gets one unused for the longest time.
 */
export class HostUids {
  private readonly free: number[];
  private readonly taken = new Set<number>();

  constructor(
    readonly first: number,
    readonly count: number,
  ) {
    this.free = Array.from({ length: count }, (_, i) => first + i);
  }

  /** A uid for a new computer; undefined when every uid of the range is in use. */
  take(): number | undefined {
    const uid = this.free.shift();
    if (uid !== undefined) this.taken.add(uid);
    return uid;
  }

  /** Gives a uid back once every process of its computer is gone. */
  give(uid: number): void {
    if (!this.taken.delete(uid)) return;
    this.free.push(uid);
  }

  get inUse(): number {
    return this.taken.size;
  }
}
