import { Setting, defineSettings, type SettingsOf, Int, Text } from '../config/settings';

class ComputerEnv {
  @Setting('Which computers sessions get: `xvfb` (real X11 desktops on this machine), `fake` (synthetic in-process screens), `cua` (remote cua computer-servers), `kubernetes` (a desktop pod per computer), or one you register ([extending.md](extending.md)).')
  @Text(/^[a-z][a-z0-9-]*$/, 'a provider name such as xvfb or fake')
  COMPUTER_PROVIDER = 'xvfb';

  @Setting('Width of each desktop, in pixels.')
  @Int(320, 7680)
  SCREEN_WIDTH = 1280;

  @Setting('Height of each desktop, in pixels.')
  @Int(240, 4320)
  SCREEN_HEIGHT = 800;

  @Setting('Default time limit of a command run inside a computer.')
  @Int(100, 3_600_000)
  COMMAND_TIMEOUT_MS = 30_000;

  @Setting('Stdout/stderr kept per command (the result says when it was cut).')
  @Int(1024, 64 * 1024 * 1024)
  COMMAND_OUTPUT_LIMIT_BYTES = 1_048_576;

  @Setting('Longest screenshot edge, in pixels.')
  @Int(64, 7680)
  SCREENSHOT_MAX_LONG_EDGE = 1568;

  @Setting('Most pixels in a screenshot.')
  @Int(10_000, 100_000_000)
  SCREENSHOT_MAX_PIXELS = 1_150_000;

  @Setting('Most bytes of an encoded screenshot.')
  @Int(10_000, 50_000_000)
  SCREENSHOT_MAX_BYTES = 1_000_000;

  @Setting('A screenshot after an action waits until no part of the screen has changed for this long (the screen has settled).')
  @Int(1, 10_000)
  SCREENSHOT_SETTLE_QUIET_MS = 50;

  @Setting('When the action has changed nothing yet, how long to wait for a first change before taking the screenshot anyway.')
  @Int(0, 60_000)
  SCREENSHOT_SETTLE_FIRST_CHANGE_MS = 300;

  @Setting('The longest that wait lasts, even while the screen keeps changing; `0` turns it off (the two above may not exceed it).')
  @Int(0, 60_000)
  SCREENSHOT_SETTLE_MAX_MS = 2000;
}

export const COMPUTER_SETTINGS = defineSettings({
  namespace: 'computer',
  title: 'Computers and screenshots',
  env: ComputerEnv,
  check: (env) =>
    (['SCREENSHOT_SETTLE_QUIET_MS', 'SCREENSHOT_SETTLE_FIRST_CHANGE_MS'] as const)
      .filter((key) => env.SCREENSHOT_SETTLE_MAX_MS > 0 && env[key] > env.SCREENSHOT_SETTLE_MAX_MS)
      .map((key) => ({ key, after: ['SCREENSHOT_SETTLE_MAX_MS'], reason: `must not be above SCREENSHOT_SETTLE_MAX_MS (${env.SCREENSHOT_SETTLE_MAX_MS})` })),
  build: (env) => ({
    provider: env.COMPUTER_PROVIDER,
    screenWidth: env.SCREEN_WIDTH,
    screenHeight: env.SCREEN_HEIGHT,
    commandTimeoutMs: env.COMMAND_TIMEOUT_MS,
    commandOutputLimitBytes: env.COMMAND_OUTPUT_LIMIT_BYTES,
    screenshot: { maxLongEdge: env.SCREENSHOT_MAX_LONG_EDGE, maxPixels: env.SCREENSHOT_MAX_PIXELS, maxBytes: env.SCREENSHOT_MAX_BYTES },
    /** How a screenshot after an action waits for the screen to settle (maxMs 0: it does not wait). */
    settle: { quietMs: env.SCREENSHOT_SETTLE_QUIET_MS, firstChangeMs: env.SCREENSHOT_SETTLE_FIRST_CHANGE_MS, maxMs: env.SCREENSHOT_SETTLE_MAX_MS },
  }),
});
export type ComputerSettings = SettingsOf<typeof COMPUTER_SETTINGS>;
