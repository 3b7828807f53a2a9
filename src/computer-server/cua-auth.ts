import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { CUA_AUTH_MESSAGES } from '../cua-protocol';
import { COMPUTER_SERVER_SETTINGS, type ComputerServerSettings } from './computer-server.settings';
import { InjectSettings } from '../config/config.module';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
/** Equal strings, compared in time that does not depend on where they differ (or their lengths). */
function sameSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/**
 * The optional API key (and container name) of computer-server mode. Keys are kept only as
 * SHA-256 digests and compared in constant time; they are never logged.
 */
@Injectable()
export class CuaAuthenticator {
  private readonly key: Buffer | undefined;
  private readonly container: Buffer | undefined;

  constructor(@InjectSettings(COMPUTER_SERVER_SETTINGS) settings: ComputerServerSettings) {
    const { apiKey, containerName } = settings;
    this.key = apiKey === undefined ? undefined : digest(apiKey);
    this.container = containerName === undefined ? undefined : digest(containerName);
  }

  get enabled(): boolean {
    return this.key !== undefined;
  }

  /** undefined when the credentials are good (or none are needed), else the reply text. */
  check(apiKey: unknown, containerName: unknown): string | undefined {
    if (!this.key) return undefined;
    if (typeof apiKey !== 'string' || apiKey === '') return CUA_AUTH_MESSAGES.keyRequired;
    if (this.container && (typeof containerName !== 'string' || containerName === '')) return CUA_AUTH_MESSAGES.containerRequired;
    // Both comparisons always run, so the time does not tell which one failed.
    const keyOk = sameSecret(apiKey, this.key);
    const containerOk = this.container ? sameSecret(containerName as string, this.container) : true;
    return keyOk && containerOk ? undefined : CUA_AUTH_MESSAGES.failed;
  }
}
