import { Setting, defineSettings, type SettingsOf, Optional, Text } from '../config/settings';

/** A principal (tenant) name. */
export const PRINCIPAL = /^[A-Za-z0-9._@-]{1,128}$/;
/** `key:principal[,key:principal…]`; a key is any run of characters without comma or whitespace. */
const API_KEYS_LIST = /^\s*[^\s,]+:[A-Za-z0-9._@-]{1,128}\s*(,\s*[^\s,]+:[A-Za-z0-9._@-]{1,128}\s*)*$/;

class AuthEnv {
  @Setting('Comma-separated `key:principal` pairs; with keys, `/mcp` needs `Authorization: Bearer <key>`. Unset (and no `API_KEYS_FILE`): anonymous mode.', { secret: true })
  @Optional() @Text(API_KEYS_LIST, 'a comma-separated list of key:principal pairs (principal: letters, digits and . _ @ -)')
  API_KEYS?: string;

  @Setting('A file of `key:principal` pairs (lines or commas, `#` comments), re-read when it changes; instead of `API_KEYS`.')
  @Optional() @Text()
  API_KEYS_FILE?: string;

  @Setting('The principal of the stdio client.')
  @Text(PRINCIPAL, 'letters, digits and . _ @ - (at most 128)')
  STDIO_PRINCIPAL = 'anonymous';
}

export const AUTH_SETTINGS = defineSettings({
  namespace: 'auth',
  title: 'Clients and principals',
  env: AuthEnv,
  check: (env) =>
    env.API_KEYS !== undefined && env.API_KEYS_FILE !== undefined ? [{ key: 'API_KEYS_FILE', after: ['API_KEYS'], reason: 'set either API_KEYS or API_KEYS_FILE, not both' }] : [],
  // The keys of the pairs (what comes before the last `:`), not the pairs: a key is what an echo could reveal.
  // Keys from API_KEYS_FILE are not among them: the server keeps those only as digests.
  secrets: (env) =>
    (env.API_KEYS ?? '')
      .split(/[\n,]/)
      .map((pair) => pair.trim())
      .filter((pair) => pair && !pair.startsWith('#') && pair.lastIndexOf(':') > 0)
      .map((pair) => pair.slice(0, pair.lastIndexOf(':')).trim()),
  build: (env) => ({
    /** `key:principal` pairs (secret), when set. */
    apiKeys: env.API_KEYS,
    apiKeysFile: env.API_KEYS_FILE,
    stdioPrincipal: env.STDIO_PRINCIPAL,
  }),
});
export type AuthSettings = SettingsOf<typeof AUTH_SETTINGS>;
