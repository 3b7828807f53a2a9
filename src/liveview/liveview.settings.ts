import { Setting, defineSettings, type SettingsOf, Bool, HttpUrl, Int, Optional } from '../config/settings';

class LiveViewEnv {
  @Setting('Offer live views of sessions\' desktops (`live_view`, `release_control`): a page served by this server that shows the desktop and lets its owner take control.')
  @Bool()
  LIVE_VIEW = true;

  @Setting('The address people\'s browsers reach this server at (`https://computers.example.com`), used in live-view links and as the only origin the live view\'s WebSocket accepts; unset: `http://` and the address the server listens on (loopback for `0.0.0.0`). Set it behind a proxy or a TLS terminator.')
  @Optional() @HttpUrl('https://computers.example.com')
  PUBLIC_URL?: string;

  @Setting('How long a live-view link works before its first use (it works once).')
  @Int(1000, 60_000)
  LIVE_VIEW_TOKEN_TTL_MS = 60_000;

  @Setting('How long a browser that opened a live-view link may keep watching (its cookie); the view also ends with the session.')
  @Int(60_000, 604_800_000)
  LIVE_VIEW_GRANT_TTL_MS = 28_800_000;
}

export const LIVE_VIEW_SETTINGS = defineSettings({
  namespace: 'liveView',
  title: 'Live view',
  env: LiveViewEnv,
  build: (env) => ({
    enabled: env.LIVE_VIEW,
    /** Normalised: no trailing slash. */
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, ''),
    tokenTtlMs: env.LIVE_VIEW_TOKEN_TTL_MS,
    grantTtlMs: env.LIVE_VIEW_GRANT_TTL_MS,
  }),
});
export type LiveViewSettings = SettingsOf<typeof LIVE_VIEW_SETTINGS>;
