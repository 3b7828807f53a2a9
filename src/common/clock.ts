import { Injectable } from '@nestjs/common';

/**
 * The time (port): "now" for logic that counts by the clock, such as the quotas' hours and days. A test puts a clock
 * it moves in its place, so a window passes without anyone waiting for it.
 */
export abstract class Clock {
  /** Milliseconds since the epoch. */
  abstract now(): number;
}

/** The system's clock. */
@Injectable()
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}
