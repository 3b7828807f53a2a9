import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { AUTH_SETTINGS, type AuthSettings, PRINCIPAL } from './auth.settings';

interface KeyEntry {
  /** SHA-256 of the key: fixed length, so comparing digests leaks neither the key nor its length. */
  digest: Buffer;
  principal: string;
}


/** The SHA-256 digest of a key. */
const digestOf = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/**
 * Parses `key:principal` pairs separated by commas or new lines (`#` starts a comment line).
 * The key is everything before the last `:`. Errors name the entry's position, never its text.
 */
export function parseApiKeys(text: string): KeyEntry[] {
  const entries = text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const seen = new Map<string, string>();
  return entries.map((entry, i) => {
    const at = entry.lastIndexOf(':');
    const key = at > 0 ? entry.slice(0, at).trim() : '';
    const principal = at > 0 ? entry.slice(at + 1).trim() : '';
    if (!key || /\s/.test(key) || !PRINCIPAL.test(principal)) {
      throw new Error(`API key entry ${i + 1} is not key:principal (principal: letters, digits and . _ @ -)`);
    }
    const hex = digestOf(key).toString('hex');
    if (seen.has(hex) && seen.get(hex) !== principal) throw new Error(`API key entry ${i + 1} repeats an earlier key for another principal`);
    seen.set(hex, principal);
    return { digest: digestOf(key), principal };
  });
}

/**
 * The API keys, from API_KEYS or API_KEYS_FILE. The file is re-read when it changes (checked
 * with a stat on use, so a rotated Kubernetes secret takes effect on the next request); a file
 * that became unreadable or malformed keeps the previous keys and logs why. Keys are kept only as
 * digests and never logged.
 */
@Injectable()
export class ApiKeyStore implements OnModuleInit {
  private readonly logger = new Logger(ApiKeyStore.name);
  private entries: KeyEntry[] = [];
  private fileStamp = '';

  constructor(@InjectSettings(AUTH_SETTINGS) private readonly settings: AuthSettings) {}

  /** Loads the keys; a missing or malformed key file stops the start. */
  onModuleInit() {
    const { apiKeys, apiKeysFile } = this.settings;
    if (apiKeys !== undefined) this.entries = parseApiKeys(apiKeys);
    if (apiKeysFile !== undefined) {
      try {
        this.fileStamp = this.stamp(apiKeysFile);
        this.entries = parseApiKeys(readFileSync(apiKeysFile, 'utf8'));
      } catch (e) {
        throw new Error(`API_KEYS_FILE ${apiKeysFile}: ${errorMessage(e)}`);
      }
      this.logger.log(`Loaded ${this.entries.length} API key(s) from ${apiKeysFile}`);
    }
  }

  /** True when keys are configured: every /mcp request then needs one. */
  get enabled(): boolean {
    return this.settings.apiKeys !== undefined || this.settings.apiKeysFile !== undefined;
  }

  /** The principal a presented key belongs to, or undefined. Compares against every key in constant time. */
  principalFor(key: string): string | undefined {
    this.reloadIfChanged();
    const digest = digestOf(key);
    let found: string | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(digest, e.digest) && found === undefined) found = e.principal;
    }
    return found;
  }

  private stamp(file: string): string {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  }

  private reloadIfChanged() {
    const file = this.settings.apiKeysFile;
    if (file === undefined) return;
    try {
      const stamp = this.stamp(file);
      if (stamp === this.fileStamp) return;
      this.fileStamp = stamp;
      this.entries = parseApiKeys(readFileSync(file, 'utf8'));
      this.logger.log(`API_KEYS_FILE changed: reloaded ${this.entries.length} key(s)`);
    } catch (e) {
      this.logger.error(`API_KEYS_FILE ${file} could not be re-read (${errorMessage(e)}); keeping the previous keys`);
    }
  }
}
