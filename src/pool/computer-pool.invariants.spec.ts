import { sleep } from '../common/async';
import { Settings } from '../config/config.module';
import { POOL_SETTINGS } from './pool.settings';
import { Computer, ComputerProvider, ComputerProviderRegistry, CreateComputerOptions, FakeComputer } from '../computer/computer.module';
import { ComputerPool } from './computer-pool.service';
import { seededRandom } from '../../test/support/prng';


/** A FAKE provider whose creates are randomly slow, failing, dead on arrival, or hang on close. */
class ChaoticProvider extends ComputerProvider {
  readonly name = 'fake';
  readonly created: FakeComputer[] = [];
  readonly closes = new Map<FakeComputer, number>();
  private n = 0;
  constructor(private readonly rnd: () => number) {
    super();
  }
  async create(o: CreateComputerOptions): Promise<Computer> {
    const r = this.rnd();
    await sleep(r < 0.05 ? 1200 : Math.floor(this.rnd() * 300), o.signal); // sometimes past the create timeout
    if (this.rnd() < 0.1) throw new Error('chaos: create failed');
    const c = new FakeComputer(`c${++this.n}`, { width: 32, height: 32 });
    if (this.rnd() < 0.05) c.kill(); // dead on arrival
    const hangs = this.rnd() < 0.05;
    const close = c.close.bind(c);
    c.close = async () => {
      this.closes.set(c, (this.closes.get(c) ?? 0) + 1);
      await close();
      if (hangs) await new Promise(() => undefined);
    };
    this.created.push(c);
    return c;
  }
}

const PRINCIPALS = ['busy', 'p1', 'p2', 'p3'];
/** MAX_COMPUTERS_PER_PRINCIPAL of the run: below POOL_MAX_SIZE + POOL_MAX_WAITERS, so the busy principal meets it. */
const SHARE = 4;

describe(`${ComputerPool.name} invariants under random load (seeded)`, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it.each([1, 2, 3])('seed %i: no double lease, never over max, no principal over its share, each principal served in arrival order, every computer destroyed exactly once, no timer left', async (seed) => {
    const rnd = seededRandom(seed);
    const config = Settings.load({
      COMPUTER_PROVIDER: 'fake',
      POOL_MAX_SIZE: '4',
      POOL_MIN_WARM: '2',
      POOL_MAX_WAITERS: '6',
      POOL_ACQUIRE_TIMEOUT_MS: '2000',
      POOL_CREATE_TIMEOUT_MS: '800',
      POOL_DESTROY_TIMEOUT_MS: '500',
      POOL_VALIDATE_TIMEOUT_MS: '100',
      POOL_IDLE_TIMEOUT_MS: '3000',
      POOL_MAX_LIFETIME_MS: '6000',
      POOL_RETRY_BASE_MS: '50',
      POOL_RETRY_MAX_MS: '400',
      POOL_LEASE_WARN_MS: '100000',
      MAX_COMPUTERS_PER_PRINCIPAL: String(SHARE),
    });
    const provider = new ChaoticProvider(rnd);
    const sut = new ComputerPool(config.get(POOL_SETTINGS), { create: (o: CreateComputerOptions) => provider.create(o), capacity: () => undefined } as unknown as ComputerProviderRegistry);
    const violations: string[] = [];
    const leased = new Set<Computer>();
    const everLeased = new Set<Computer>();
    const handoffs = new Map<string, number[]>();
    sut.events.on('handoff', (ticket, _owner, principal) => handoffs.set(principal, [...(handoffs.get(principal) ?? []), ticket]));
    /** Per principal, as this test sees it: acquires not yet settled plus leases not yet given back. */
    const asked = new Map<string, number>();
    const leasedBy = new Map<string, number>();
    const bump = (m: Map<string, number>, p: string, d: number) => m.set(p, (m.get(p) ?? 0) + d);
    sut.events.on('leased', (l) => {
      if (leased.has(l.computer)) violations.push(`${l.computer.id} leased twice at once`);
      if (everLeased.has(l.computer)) violations.push(`${l.computer.id} leased again after release`);
      leased.add(l.computer);
      everLeased.add(l.computer);
      bump(leasedBy, l.principal, 1);
      if (leasedBy.get(l.principal)! > SHARE) violations.push(`${l.principal} holds ${leasedBy.get(l.principal)} computers, over its share of ${SHARE}`);
    });
    sut.events.on('released', (l) => {
      leased.delete(l.computer);
      bump(leasedBy, l.principal, -1);
    });
    const check = (when: string) => {
      const s = sut.stats();
      if (s.leased + s.idle + s.creating > s.max || s.size > s.max) violations.push(`${when}: over max ${JSON.stringify(s)}`);
    };
    sut.onApplicationBootstrap();

    const outcomes = { ok: 0, exhausted: 0, cancelled: 0, failed: 0, queueFull: 0, overShare: 0 };
    const work: Promise<void>[] = [];
    for (let op = 0; op < 1500; op++) {
      await jest.advanceTimersByTimeAsync(Math.floor(rnd() * 40));
      check(`op ${op}`);
      const ac = new AbortController();
      if (rnd() < 0.2) setTimeout(() => ac.abort(), Math.floor(rnd() * 1500));
      const hold = Math.floor(rnd() * 600);
      const killWhileHeld = rnd() < 0.05;
      // Most calls come from one busy principal; the pool must still serve the others.
      const principal = PRINCIPALS[rnd() < 0.6 ? 0 : 1 + Math.floor(rnd() * (PRINCIPALS.length - 1))];
      const before = asked.get(principal) ?? 0;
      bump(asked, principal, 1);
      work.push(
        sut.acquire({ owner: `s${op}`, principal, signal: ac.signal }).then(
          async (lease) => {
            outcomes.ok++;
            if (killWhileHeld) (lease.computer as FakeComputer).kill();
            await sleep(hold);
            bump(asked, principal, -1);
            await sut.release(lease);
          },
          (e: { code?: string; message?: string }) => {
            bump(asked, principal, -1);
            if (e.code === 'SESSION_LIMIT') {
              outcomes.overShare++;
              // Refused only when the principal already asked for its whole share.
              if (before < SHARE) violations.push(`op ${op}: ${principal} refused with ${before} of ${SHARE} asked for`);
            } else if (e.code === 'POOL_EXHAUSTED') outcomes.exhausted++;
            else if (e.code === 'CANCELLED') outcomes.cancelled++;
            else if (e.code === 'POOL_QUEUE_FULL') outcomes.queueFull++;
            else if (e.code === 'COMPUTER_FAILED') outcomes.failed++;
            else violations.push(`unexpected error ${String(e.code)}: ${e.message}`);
          },
        ),
      );
    }
    await jest.advanceTimersByTimeAsync(5000);
    await Promise.all(work);
    check('end');
    const drained = sut.drain(1000);
    await jest.advanceTimersByTimeAsync(5000);
    await drained;

    expect(violations).toEqual([]);
    for (const [principal, tickets] of handoffs) {
      for (let i = 1; i < tickets.length; i++) if (tickets[i] < tickets[i - 1]) violations.push(`${principal}: hand-off ${tickets[i]} after ${tickets[i - 1]}`);
    }
    expect(violations).toEqual([]);
    expect([...handoffs.keys()].sort()).toEqual([...PRINCIPALS].sort());
    // Every kind of outcome happened, so the run exercised the paths it claims to.
    expect(outcomes.ok).toBeGreaterThan(150);
    expect(outcomes.cancelled).toBeGreaterThan(10);
    expect(outcomes.failed + outcomes.exhausted + outcomes.queueFull).toBeGreaterThan(10);
    expect(outcomes.overShare).toBeGreaterThan(10);
    for (const c of provider.created) expect([c.id, provider.closes.get(c)]).toEqual([c.id, 1]);
    expect(sut.stats()).toMatchObject({ size: 0, leased: 0, idle: 0, creating: 0, waiting: 0 });
    expect(jest.getTimerCount()).toBe(0);
    for (const p of PRINCIPALS) expect([p, sut.roomFor(p)]).toEqual([p, SHARE]);
  }, 60_000);
});
