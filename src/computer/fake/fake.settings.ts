import { Setting, defineSettings, type SettingsOf, Int } from '../../config/settings';

class FakeEnv {
  @Setting('`fake` provider only: simulated start-up time of a computer.')
  @Int(0, 600_000)
  FAKE_CREATE_DELAY_MS = 0;
}

export const FAKE_SETTINGS = defineSettings({
  namespace: 'fake',
  title: 'Fake computers (COMPUTER_PROVIDER=fake, for tests and demos)',
  env: FakeEnv,
  build: (env) => ({ createDelayMs: env.FAKE_CREATE_DELAY_MS }),
});
export type FakeSettings = SettingsOf<typeof FAKE_SETTINGS>;
