import { SchedulerRegistry } from '@nestjs/schedule';
import { Settings } from '../config/config.module';
import { SESSION_SETTINGS } from './session.settings';
import { SessionSweeper } from './session-sweeper';
import { SessionService } from './session.service';

describe(SessionSweeper.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sweeps every SESSION_SWEEP_INTERVAL_MS and removes its interval on destroy', async () => {
    const sweep = jest.fn().mockResolvedValue([]);
    const scheduler = new SchedulerRegistry();
    const sut = new SessionSweeper({ sweep } as unknown as SessionService, scheduler, Settings.load({ SESSION_SWEEP_INTERVAL_MS: '1000' }).get(SESSION_SETTINGS));
    sut.onApplicationBootstrap();
    expect(scheduler.getIntervals()).toEqual(['session-idle-sweep']);
    await jest.advanceTimersByTimeAsync(3000);
    expect(sweep).toHaveBeenCalledTimes(3);
    sut.onModuleDestroy();
    expect(scheduler.getIntervals()).toEqual([]);
    await jest.advanceTimersByTimeAsync(5000);
    expect(sweep).toHaveBeenCalledTimes(3);
  });

  it('left unset, the interval follows the default sessions\' timeout: four sweeps within DEFAULT_SESSION_IDLE_TIMEOUT_MS', async () => {
    const sweep = jest.fn().mockResolvedValue([]);
    const sut = new SessionSweeper({ sweep } as unknown as SessionService, new SchedulerRegistry(), Settings.load({ DEFAULT_SESSION_IDLE_TIMEOUT_MS: '2000' }).get(SESSION_SETTINGS));
    sut.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(2000);
    expect(sweep).toHaveBeenCalledTimes(4);
    sut.onModuleDestroy();
  });

  it('skips a tick while the previous sweep still runs, and survives a failing sweep', async () => {
    let finish!: () => void;
    const sweep = jest
      .fn()
      .mockImplementationOnce(() => new Promise<string[]>((r) => (finish = () => r([]))))
      .mockRejectedValueOnce(new Error('boom'))
      .mockResolvedValue([]);
    const sut = new SessionSweeper({ sweep } as unknown as SessionService, new SchedulerRegistry(), Settings.load({}).get(SESSION_SETTINGS));
    const first = sut.tick();
    await sut.tick();
    expect(sweep).toHaveBeenCalledTimes(1);
    finish();
    await first;
    await sut.tick();
    await sut.tick();
    expect(sweep).toHaveBeenCalledTimes(3);
  });
});
