import { Setting, defineSettings, type SettingsOf, type SettingsProblem, Int, Optional, Secret, Text } from '../config/settings';
import { HTTP_SETTINGS } from '../http/http.settings';

class ComputerServerEnv {
  @Setting('computer-server mode only: its port (`--port` overrides).')
  @Int(0, 65535)
  COMPUTER_SERVER_PORT = 8000;

  @Setting('computer-server mode only: the key cua clients must present (16+ characters); unset: no authentication.', { secret: true })
  @Optional() @Secret(16)
  COMPUTER_SERVER_API_KEY?: string;

  @Setting('computer-server mode only: the container name clients must present with the key (needs `COMPUTER_SERVER_API_KEY`); unset: not checked.')
  @Optional() @Text(/^[A-Za-z0-9._-]{1,253}$/, 'letters, digits and . _ - (at most 253)')
  COMPUTER_SERVER_CONTAINER_NAME?: string;

  @Setting('computer-server mode only: PEM certificate (chain) file; with `COMPUTER_SERVER_TLS_KEY_FILE` it serves https/wss.')
  @Optional() @Text()
  COMPUTER_SERVER_TLS_CERT_FILE?: string;

  @Setting('computer-server mode only: PEM private key file of that certificate.')
  @Optional() @Text()
  COMPUTER_SERVER_TLS_KEY_FILE?: string;
}

export const COMPUTER_SERVER_SETTINGS = defineSettings({
  namespace: 'computer-server',
  title: 'computer-server mode (`node dist/main.js computer-server`)',
  docs: 'computer-server.md',
  env: ComputerServerEnv,
  check: (env) => {
    const problems: SettingsProblem[] = [];
    if ((env.COMPUTER_SERVER_TLS_CERT_FILE === undefined) !== (env.COMPUTER_SERVER_TLS_KEY_FILE === undefined)) {
      const key = env.COMPUTER_SERVER_TLS_CERT_FILE === undefined ? 'COMPUTER_SERVER_TLS_CERT_FILE' : 'COMPUTER_SERVER_TLS_KEY_FILE';
      problems.push({ key, after: ['COMPUTER_SERVER_TLS_CERT_FILE', 'COMPUTER_SERVER_TLS_KEY_FILE'], reason: 'set both COMPUTER_SERVER_TLS_CERT_FILE and COMPUTER_SERVER_TLS_KEY_FILE, or neither' });
    }
    if (env.COMPUTER_SERVER_CONTAINER_NAME !== undefined && env.COMPUTER_SERVER_API_KEY === undefined) {
      problems.push({ key: 'COMPUTER_SERVER_CONTAINER_NAME', after: ['COMPUTER_SERVER_API_KEY'], reason: 'is checked only together with an API key: set COMPUTER_SERVER_API_KEY too' });
    }
    return problems;
  },
  build: (env, ctx) => ({
    port: env.COMPUTER_SERVER_PORT,
    /** The key clients must present (secret), when set. */
    apiKey: env.COMPUTER_SERVER_API_KEY,
    containerName: env.COMPUTER_SERVER_CONTAINER_NAME,
    /** HOST was set explicitly (otherwise the mode picks its own default bind address). */
    hostGiven: ctx.of(HTTP_SETTINGS).hostGiven,
    /** PEM files: serve https/wss instead of http/ws. */
    tls:
      env.COMPUTER_SERVER_TLS_CERT_FILE && env.COMPUTER_SERVER_TLS_KEY_FILE ? { certFile: env.COMPUTER_SERVER_TLS_CERT_FILE, keyFile: env.COMPUTER_SERVER_TLS_KEY_FILE } : undefined,
  }),
});
export type ComputerServerSettings = SettingsOf<typeof COMPUTER_SERVER_SETTINGS>;
