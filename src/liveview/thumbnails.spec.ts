import type { Computer, Frame, ScreenshotService } from '../computer/computer.module';
import type { Lease } from '../pool/pool.module';
import { Session, SessionService } from '../session/session.module';
import { THUMBNAIL_EVERY_MS, Thumbnails } from './thumbnails';

const T0 = 1_000_000;
const FRAME: Frame = { kind: 'raw', width: 1280, height: 800, channels: 3, data: Buffer.alloc(3) };

describe(Thumbnails.name, () => {
  let captures: { resolve: (f: Frame) => void; reject: (e: Error) => void }[];
  let session: Session;
  let sut: Thumbnails;

  beforeEach(() => {
    captures = [];
    const computer = { capture: () => new Promise<Frame>((resolve, reject) => captures.push({ resolve, reject })) } as unknown as Computer;
    session = new Session('s1', 'alice', 'named', 60_000, 120_000, T0);
    session.lease = { computer } as Lease;
    const sessions = { computerOf: (s: Session) => s.lease!.computer } as unknown as SessionService;
    let n = 0;
    const screenshots = {
      encode: async (frame: Frame, format: string, limits: { maxLongEdge: number }) => ({ data: Buffer.from(`${format} ${limits.maxLongEdge} #${++n} of ${frame.width}`) }),
    } as unknown as ScreenshotService;
    sut = new Thumbnails(sessions, screenshots);
  });

  it('captures a desktop once for every request that comes while it does, and reuses the picture until it is THUMBNAIL_EVERY_MS old', async () => {
    const many = Array.from({ length: 5 }, (_, i) => sut.of(session, T0 + i));
    expect(captures).toHaveLength(1);
    captures[0].resolve(FRAME);
    const pictures = (await Promise.all(many)).map(String);
    expect(new Set(pictures)).toEqual(new Set(['jpeg 320 #1 of 1280']));

    expect(String(await sut.of(session, T0 + THUMBNAIL_EVERY_MS - 1))).toBe('jpeg 320 #1 of 1280');
    expect(captures).toHaveLength(1);
    const next = sut.of(session, T0 + THUMBNAIL_EVERY_MS);
    expect(captures).toHaveLength(2);
    captures[1].resolve(FRAME);
    expect(String(await next)).toBe('jpeg 320 #2 of 1280');
    expect(sut.captures).toBe(2);
  });

  it('answers a failed capture with no picture (never an error), and does not try again before THUMBNAIL_EVERY_MS', async () => {
    const first = sut.of(session, T0);
    captures[0].reject(new Error('the display went away'));
    await expect(first).resolves.toBeUndefined();
    await expect(sut.of(session, T0 + 1)).resolves.toBeUndefined();
    expect(captures).toHaveLength(1);
    const again = sut.of(session, T0 + THUMBNAIL_EVERY_MS);
    captures[1].resolve(FRAME);
    expect(String(await again)).toBe('jpeg 320 #1 of 1280');
  });

  it('has no picture of a session still leasing its computer, or ended, and captures nothing for it', async () => {
    const starting = new Session('s2', 'alice', 'named', 60_000, 120_000, T0);
    await expect(sut.of(starting, T0)).resolves.toBeUndefined();
    session.ended = true;
    await expect(sut.of(session, T0)).resolves.toBeUndefined();
    expect(captures).toHaveLength(0);
    expect(sut.captures).toBe(0);
  });
});
