/**
 * The Acme providers' own settings, declared the way every built-in feature declares its own:
 * validated at boot together with the server's (one error names every bad key; secrets are never
 * shown), and read by the providers with @InjectSettings(ACME_SETTINGS).
 */
import { Int, Optional, Secret, Setting, Text, defineSettings, type SettingsOf } from '../../src';

class AcmeEnv {
  @Setting('Prefix of the Acme notepads\' ids, e.g. `acme` gives acme-1, acme-2 …')
  @Text(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and - (at most 32), starting with a letter')
  ACME_COMPUTER_PREFIX = 'acme';

  @Setting('Width of an Acme notepad, in pixels.')
  @Int(320, 3840)
  ACME_SCREEN_WIDTH = 800;

  @Setting('The key of Acme\'s licence server; required with COMPUTER_PROVIDER=acme-notepad.', { secret: true })
  @Optional() @Secret(12)
  ACME_LICENCE_KEY?: string;
}

export const ACME_SETTINGS = defineSettings({
  namespace: 'acme',
  title: 'Acme notepads (COMPUTER_PROVIDER=acme-notepad)',
  env: AcmeEnv,
  // A rule that spans settings: the licence is needed only when the Acme computers are in use.
  check: (env, ctx) =>
    ctx.value('COMPUTER_PROVIDER') === 'acme-notepad' && env.ACME_LICENCE_KEY === undefined
      ? [{ key: 'ACME_LICENCE_KEY', reason: 'is required with COMPUTER_PROVIDER=acme-notepad' }]
      : [],
  build: (env) => ({ prefix: env.ACME_COMPUTER_PREFIX, screen: { width: env.ACME_SCREEN_WIDTH, height: Math.round((env.ACME_SCREEN_WIDTH * 3) / 4) }, licenceKey: env.ACME_LICENCE_KEY }),
});
export type AcmeSettings = SettingsOf<typeof ACME_SETTINGS>;
