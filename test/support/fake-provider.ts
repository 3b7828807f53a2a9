import { Computer, ComputerProvider, CreateComputerOptions } from '../../src/computer/computer.module';
import { FakeComputer } from '../../src/computer/computer.module';
import { sleep } from '../../src/common/async';

/**
 * A FAKE computer provider for unit tests, with programmable create delay and failures.
 * Records every computer it made so tests can check nothing leaked.
 */
export class ProgrammableFakeProvider extends ComputerProvider {
  readonly name = 'fake';
  readonly created: FakeComputer[] = [];
  createDelayMs = 0;
  failNext = 0;
  private n = 0;

  async create(options: CreateComputerOptions): Promise<Computer> {
    if (this.createDelayMs) await sleep(this.createDelayMs, options.signal);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('simulated create failure');
    }
    const c = new FakeComputer(`t-${++this.n}`, { width: 64, height: 48 });
    this.created.push(c);
    return c;
  }

  open() {
    return this.created.filter((c) => !c.isClosed);
  }
}
