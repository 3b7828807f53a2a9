import { sleep } from '../../src/common/async';
import { Computer, ComputerProvider, CreateComputerOptions, FakeComputer } from '../../src/computer/computer.module';

/**
 * A FAKE computer provider for unit tests, with programmable create delay, failures and hangs.
 * Records every computer it made (and how often each was closed) so tests can check nothing
 * leaked and nothing was destroyed twice.
 */
export class ProgrammableFakeProvider extends ComputerProvider {
  readonly name = 'fake';
  readonly created: FakeComputer[] = [];
  readonly closeCounts = new Map<FakeComputer, number>();
  createDelayMs = 0;
  /** Keep making a computer after the create's signal aborts (a provider that cannot stop midway). */
  ignoreAbort = false;
  /** Fail this many creates from now on. */
  failNext = 0;
  /** Fail every create. */
  failAlways = false;
  /** Computers made from now on report isAlive() false. */
  deadOnArrival = false;
  attempts = 0;
  private n = 0;

  async create(options: CreateComputerOptions): Promise<Computer> {
    this.attempts++;
    if (this.createDelayMs) await sleep(this.createDelayMs, this.ignoreAbort ? undefined : options.signal);
    if (this.failAlways || this.failNext > 0) {
      if (this.failNext > 0) this.failNext--;
      throw new Error('simulated create failure');
    }
    const c = new FakeComputer(`t-${++this.n}`, { width: 64, height: 48 });
    const close = c.close.bind(c);
    c.close = async () => {
      this.closeCounts.set(c, (this.closeCounts.get(c) ?? 0) + 1);
      await close();
    };
    if (this.deadOnArrival) c.isAlive = async () => false;
    this.created.push(c);
    return c;
  }

  open() {
    return this.created.filter((c) => !c.isClosed);
  }
}
