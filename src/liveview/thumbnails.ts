import { Injectable, Logger } from '@nestjs/common';
import { errorMessage } from '../common/domain-error';
import { ScreenshotService, type ScreenshotLimits } from '../computer/computer.module';
import { Session, SessionService } from '../session/session.module';

/** A thumbnail's long edge, in pixels (320x200 for a 1280x800 screen). */
export const THUMBNAIL_EDGE = 320;
/** A session's desktop is captured for thumbnails at most this often, however many dashboards look at it. */
export const THUMBNAIL_EVERY_MS = 500;
/** A capture that takes longer than this is given up: the dashboard shows a placeholder. */
const CAPTURE_TIMEOUT_MS = 5_000;
const LIMITS: ScreenshotLimits = { maxLongEdge: THUMBNAIL_EDGE, maxPixels: THUMBNAIL_EDGE * THUMBNAIL_EDGE, maxBytes: 64 * 1024 };

interface Entry {
  /** When the latest capture started. */
  at: number;
  /** The latest thumbnail; undefined when that capture failed. */
  image?: Buffer;
  /** The capture under way, which every request meanwhile waits for. */
  pending?: Promise<Buffer | undefined>;
}

/**
 * Small JPEG pictures of sessions' desktops for the dashboard, captured in this process with the
 * session's own Computer and downscaled with the screenshot pipeline. Only on request (while some
 * dashboard looks) and at most every THUMBNAIL_EVERY_MS per session: requests in between share the
 * latest picture, and requests during a capture wait for it. A capture never keeps a session alive
 * (it does not count as the session's activity) and never fails loudly: undefined means "show a
 * placeholder".
 */
@Injectable()
export class Thumbnails {
  private readonly logger = new Logger('Dashboard');
  private readonly cache = new WeakMap<Session, Entry>();
  /** How many captures were made (for tests and metrics). */
  captures = 0;

  constructor(
    private readonly sessions: SessionService,
    private readonly screenshots: ScreenshotService,
  ) {}

  /** The session's thumbnail, at most THUMBNAIL_EVERY_MS old (plus one capture's time); undefined when its desktop cannot be captured now. */
  async of(session: Session, now = Date.now()): Promise<Buffer | undefined> {
    const last = this.cache.get(session);
    if (last?.pending) return last.pending;
    if (last && now - last.at < THUMBNAIL_EVERY_MS) return last.image;
    const entry: Entry = { at: now };
    this.cache.set(session, entry);
    entry.pending = this.capture(session)
      .then((image) => (entry.image = image))
      .finally(() => (entry.pending = undefined));
    return entry.pending;
  }

  private async capture(session: Session): Promise<Buffer | undefined> {
    if (session.ended || !session.lease) return undefined; // still leasing its computer, or gone
    this.captures++;
    try {
      const frame = await this.sessions.computerOf(session).capture(AbortSignal.timeout(CAPTURE_TIMEOUT_MS));
      return (await this.screenshots.encode(frame, 'jpeg', LIMITS)).data;
    } catch (e) {
      this.logger.debug(`No thumbnail of session ${session.id}: ${errorMessage(e)}`);
      return undefined;
    }
  }
}
