import type { KubernetesObject } from '@kubernetes/client-node';
import { Logger } from '@nestjs/common';
import { apiErrorMessage, DesktopResource } from './kubernetes-api';
import { WatchCursor, WatchEventObject } from './watch-cursor';

/** A watch that ends cleanly sooner than this waits out the rest before it is resumed. */
const MIN_STREAM_MS = 500;

export interface WatchHandlers<T> {
  /** After every (re)list: everything that matches the selector now. */
  synced(items: T[]): void;
  /** ADDED, MODIFIED or DELETED. */
  changed(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void;
}

/**
 * Keeps a list-then-watch going on one resource (see WatchCursor for the protocol): resumes a
 * dropped stream from the last resourceVersion, lists again on 410 Gone, backs off after
 * failures. Owned by the fleet; stop() ends the stream and the retry timer.
 */
export class ResourceWatch<T extends KubernetesObject> {
  private readonly cursor = new WatchCursor();
  private stopped = false;
  private stopStream?: () => void;
  private pauseTimer?: NodeJS.Timeout;
  private wake?: () => void;
  private loop?: Promise<void>;
  /** Counts for tests and logs. */
  readonly stats = { lists: 0, watches: 0, resumes: 0, relists: 0 };

  constructor(
    private readonly resource: DesktopResource<T>,
    private readonly selector: string,
    private readonly handlers: WatchHandlers<T>,
    private readonly logger: Logger,
  ) {}

  /** Lists once (throws when the API cannot be reached), then watches in the background. */
  async start(): Promise<T[]> {
    const items = await this.list();
    this.loop = this.run();
    return items;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopStream?.();
    clearTimeout(this.pauseTimer);
    this.wake?.();
    await this.loop;
  }

  private async list(): Promise<T[]> {
    const { items, resourceVersion } = await this.resource.list(this.selector);
    this.stats.lists++;
    this.cursor.listed(resourceVersion);
    this.handlers.synced(items);
    return items;
  }

  private async run() {
    while (!this.stopped) {
      const delay = this.cursor.delayMs();
      if (delay > 0) await this.pause(delay);
      if (this.stopped) break;
      const step = this.cursor.next();
      try {
        if (step.kind === 'list') {
          this.stats.relists++;
          await this.list();
          this.logger.log(`Listed ${this.resource.noun}s again at resourceVersion ${this.cursor.version}`);
        } else {
          const began = Date.now();
          await this.watchFrom(step.resourceVersion);
          // A stream that the server closes at once, again and again, must not spin.
          const lived = Date.now() - began;
          if (lived < MIN_STREAM_MS && !this.stopped) await this.pause(MIN_STREAM_MS - lived);
        }
      } catch (e) {
        if (this.stopped) break;
        this.cursor.ended(e);
        this.logger.warn(`Watch of ${this.resource.noun}s ended: ${apiErrorMessage(e)}; ${this.cursor.next().kind === 'list' ? 'listing again' : `resuming from resourceVersion ${this.cursor.version}`}`);
      }
    }
  }

  /** One watch stream; resolves when it ends cleanly, rejects when it fails. */
  private watchFrom(resourceVersion: string): Promise<void> {
    this.stats.watches++;
    if (this.stats.watches > 1) this.stats.resumes++;
    return new Promise<void>((resolve, reject) => {
      let ended = false;
      const end = (error?: unknown) => {
        if (ended) return;
        ended = true;
        this.stopStream?.();
        this.stopStream = undefined;
        if (error) reject(error instanceof Error ? error : new Error(apiErrorMessage(error)));
        else resolve();
      };
      const onEvent = (type: string, object: unknown) => {
        if (ended) return;
        const verdict = this.cursor.event(type, object as WatchEventObject);
        if (verdict === 'expired') {
          this.logger.log(`resourceVersion ${resourceVersion} of ${this.resource.noun}s is too old (410 Gone); listing again`);
          return end();
        }
        if (verdict === 'error') return end(Object.assign(new Error(`watch error: ${(object as WatchEventObject)?.message ?? type}`), { statusCode: (object as WatchEventObject)?.code }));
        if (verdict === 'apply' && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) this.handlers.changed(type, object as T);
      };
      this.resource.watch(this.selector, resourceVersion, onEvent, (error) => end(this.stopped ? undefined : error)).then(
        (stop) => {
          if (ended || this.stopped) stop();
          else this.stopStream = stop;
          if (this.stopped) end();
        },
        (e: unknown) => end(e),
      );
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.pauseTimer = setTimeout(resolve, ms);
    });
  }
}
