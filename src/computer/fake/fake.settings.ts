import { Setting, defineSettings, type SettingsOf, Bool, Int } from '../../config/settings';

class FakeEnv {
  @Setting('`fake` provider only: simulated start-up time of a computer.')
  @Int(0, 600_000)
  FAKE_CREATE_DELAY_MS = 0;

  @Setting(
    '`fake` provider only: its computers count as remote ones that another replica can take over (handle `fake:<id>`; the one that does gets a ' +
      'fresh synthetic screen under the same id), so replicas can be load-tested with thousands of sessions (`npm run bench -- replicas`).',
  )
  @Bool()
  FAKE_REMOTE = false;
}

export const FAKE_SETTINGS = defineSettings({
  namespace: 'fake',
  title: 'Fake computers (COMPUTER_PROVIDER=fake, for tests and demos)',
  env: FakeEnv,
  build: (env) => ({ createDelayMs: env.FAKE_CREATE_DELAY_MS, remote: env.FAKE_REMOTE }),
});
export type FakeSettings = SettingsOf<typeof FAKE_SETTINGS>;
