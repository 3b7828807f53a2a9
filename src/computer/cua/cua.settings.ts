import { Setting, defineSettings, type SettingsOf, type SettingsProblem, Int, List, Optional, RawText, Secret, Text, list } from '../../config/settings';
import { COMPUTER_SETTINGS } from '../computer.settings';
import { POOL_SETTINGS } from '../../pool/pool.settings';

class CuaEnv {
  @Setting('`cua` provider: comma-separated http(s) base URLs of cua computer-servers, one session each ([computer-server.md](computer-server.md#remote-computers)).')
  @Optional() @List(/^https?:\/\/\S+$/, 'http(s) URLs such as http://10.0.0.5:8000')
  CUA_COMPUTER_URLS?: string;

  @Setting('The key those servers want: sent in the WebSocket authenticate frame and as `X-API-Key`.', { secret: true })
  @Optional() @Secret()
  CUA_API_KEY?: string;

  @Setting('The container name sent with the key (authenticate frame, `X-Container-Name`).')
  @Optional() @Text(/^\S{1,253}$/, 'a name without spaces (at most 253 characters)')
  CUA_CONTAINER_NAME?: string;

  @Setting('Time limit of one request to a cua computer-server (`run_command`: its own limit plus 5 s).')
  @Int(100, 600_000)
  CUA_REQUEST_TIMEOUT_MS = 10_000;

  @Setting('Shell command run on a remote computer between sessions instead of the default reset; it must exit 0.')
  @Optional() @RawText()
  CUA_RESET_COMMAND?: string;

  @Setting('`cua` and `kubernetes` computers: the fixed wait before a screenshot after an action, as the protocol cannot say when the remote screen changed (at most `SCREENSHOT_SETTLE_MAX_MS`).')
  @Int(0, 60_000)
  CUA_SETTLE_DELAY_MS = 500;
}

/** Why CUA_COMPUTER_URLS cannot be used, or undefined. Credentials belong in CUA_API_KEY, never in a URL (URLs are logged). */
function urlProblem(urls: string[]): string | undefined {
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      return `"${u}" is not a URL`;
    }
    if (url.username || url.password) return 'URLs must not carry credentials; set CUA_API_KEY instead';
    if (url.search || url.hash) return `"${url.origin}…" must be a base URL without query or fragment`;
  }
  if (new Set(urls.map((u) => u.replace(/\/+$/, ''))).size !== urls.length) return 'lists the same URL twice';
  return undefined;
}

export const CUA_SETTINGS = defineSettings({
  namespace: 'cua',
  title: 'Remote cua computers (COMPUTER_PROVIDER=cua)',
  docs: 'computer-server.md',
  env: CuaEnv,
  check: (env, ctx) => {
    const problems: SettingsProblem[] = [];
    const urls = list(env.CUA_COMPUTER_URLS);
    const bad = urlProblem(urls);
    if (bad) problems.push({ key: 'CUA_COMPUTER_URLS', reason: bad });
    if (ctx.env(COMPUTER_SETTINGS).COMPUTER_PROVIDER !== 'cua') return problems;
    if (urls.length === 0) {
      problems.push({ key: 'CUA_COMPUTER_URLS', after: ['COMPUTER_PROVIDER'], reason: 'is required with COMPUTER_PROVIDER=cua: the base URLs of the cua computer-servers, e.g. http://10.0.0.5:8000' });
      return problems;
    }
    // One session per remote computer: more would only wait. Left unset, POOL_MAX_SIZE becomes the number of URLs.
    const pool = ctx.env(POOL_SETTINGS);
    for (const key of ['POOL_MAX_SIZE', 'POOL_MIN_WARM'] as const) {
      if (ctx.given(key) && pool[key] > urls.length) {
        problems.push({ key, after: ['CUA_COMPUTER_URLS'], reason: `must not be above the ${urls.length} remote computers in CUA_COMPUTER_URLS (each serves one session at a time); lower it or list more URLs` });
      }
    }
    return problems;
  },
  build: (env) => ({
    urls: list(env.CUA_COMPUTER_URLS).map((u) => u.replace(/\/+$/, '')),
    apiKey: env.CUA_API_KEY,
    containerName: env.CUA_CONTAINER_NAME,
    requestTimeoutMs: env.CUA_REQUEST_TIMEOUT_MS,
    resetCommand: env.CUA_RESET_COMMAND,
    settleDelayMs: env.CUA_SETTLE_DELAY_MS,
  }),
});
export type CuaSettings = SettingsOf<typeof CUA_SETTINGS>;
