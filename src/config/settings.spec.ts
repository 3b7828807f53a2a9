import { readFileSync } from 'node:fs';
import '../app.module';
import '../computer-server/computer-server.settings';
import { AGENT_SETTINGS } from '../agent/agent.settings';
import { ANTHROPIC_SETTINGS } from '../agent/anthropic/anthropic.settings';
import { OPENAI_SETTINGS } from '../agent/openai/openai.settings';
import { SCRIPTED_SETTINGS } from '../agent/scripted/scripted.settings';
import { TRAJECTORY_SETTINGS } from '../agent/trajectory/trajectory.settings';
import { AUTH_SETTINGS } from '../auth/auth.settings';
import { LOG_SETTINGS } from '../common/log.settings';
import { COMPUTER_SETTINGS } from '../computer/computer.settings';
import { CUA_SETTINGS } from '../computer/cua/cua.settings';
import { XVFB_SETTINGS } from '../computer/xvfb/xvfb.settings';
import { HTTP_SETTINGS } from '../http/http.settings';
import { LIFECYCLE_SETTINGS } from '../lifecycle/lifecycle.settings';
import { MCP_SETTINGS } from '../mcp/mcp.settings';
import { POOL_SETTINGS } from '../pool/pool.settings';
import { SESSION_SETTINGS } from '../session/session.settings';
import { ConfigValidationError, declaredSettings, settingKeys, Settings } from './config.module';
import { renderSettingsDoc, SETTINGS_DOC } from './settings-doc';

/** The namespaces these tests read, from one load of `env` (every built-in feature is imported above). */
function load(env: Record<string, string>) {
  const s = Settings.load(env);
  return {
    http: s.get(HTTP_SETTINGS),
    auth: s.get(AUTH_SETTINGS),
    mcp: s.get(MCP_SETTINGS),
    log: s.get(LOG_SETTINGS),
    session: s.get(SESSION_SETTINGS),
    pool: s.get(POOL_SETTINGS),
    computer: s.get(COMPUTER_SETTINGS),
    xvfb: s.get(XVFB_SETTINGS),
    cua: s.get(CUA_SETTINGS),
    agent: s.get(AGENT_SETTINGS),
    anthropic: s.get(ANTHROPIC_SETTINGS),
    openai: s.get(OPENAI_SETTINGS),
    scripted: s.get(SCRIPTED_SETTINGS),
    trajectories: s.get(TRAJECTORY_SETTINGS),
    shutdown: s.get(LIFECYCLE_SETTINGS),
  };
}

describe(Settings.name, () => {
  it('applies the documented defaults', () => {
    const sut = load({});
    expect(sut.http).toEqual({
      host: '127.0.0.1',
      port: 3000,
      hostGiven: false,
      allowedHosts: [],
      allowedOrigins: [],
      headersTimeoutMs: 30000,
      requestTimeoutMs: 60000,
      keepAliveTimeoutMs: 5000,
      maxConnections: 10000,
      probe: undefined,
    });
    expect(sut.auth).toEqual({ apiKeys: undefined, apiKeysFile: undefined, apiKeyOperators: new Set(), stdioPrincipal: 'anonymous' });
    // Unset caps follow the pool's capacity, which the pool knows at run time (SessionService.maxSessions()).
    expect(sut.session.maxSessions).toBeUndefined();
    expect(sut.session.maxSessionsPerPrincipal).toBeUndefined();
    expect(sut.pool.maxPerPrincipal).toBeUndefined();
    expect(sut.mcp).toEqual({ maxConnections: 1000, maxConnectionsPerPrincipal: 100, connectionIdleTimeoutMs: 120000 });
    expect(sut.pool).toMatchObject({ maxSize: 5, acquireTimeoutMs: 30000 });
    expect(sut.session).toMatchObject({ sweepIntervalMs: 30000, idleTimeoutMs: 600000, defaultIdleTimeoutMs: 120000 });
    expect(sut.scripted).toEqual({ steps: 4, stepMs: 0 });
    expect(sut.shutdown.graceMs).toBe(30000);
    expect(sut.computer.provider).toBe('xvfb');
  });

  it('reads numbers and trims values', () => {
    const sut = load({ PORT: ' 8080 ', POOL_MAX_SIZE: '7', COMPUTER_PROVIDER: 'fake' });
    expect(sut.http.port).toBe(8080);
    expect(sut.pool.maxSize).toBe(7);
    expect(sut.computer.provider).toBe('fake');
  });

  it('names every bad key at once', () => {
    let err: unknown;
    try {
      load({ PORT: 'eighty', POOL_MAX_SIZE: '0', CUA_MODEL_NAME: 'no-slash', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigValidationError);
    const keys = (err as ConfigValidationError).problems.map((p) => p.key).sort();
    expect(keys).toEqual(['CUA_MODEL_NAME', 'LOG_LEVEL', 'POOL_MAX_SIZE', 'PORT']);
    expect((err as Error).message).toMatch(/PORT="eighty"/);
  });

  it('agent settings: a current Claude model by default, the allowed models, and keys never printed', () => {
    const sut = load({});
    expect(sut.agent).toMatchObject({
      modelName: 'anthropic/claude-sonnet-5-5',
      modelNameExplicit: false,
      allowedModels: ['anthropic/claude-sonnet-5-5'],
      maxSteps: 50,
      taskTimeoutMs: 900000,
      maxImages: 3,
      maxTokensPerTask: 2000000,
      ackSafetyChecks: false,
    });
    expect(sut.anthropic).toMatchObject({ baseUrl: 'https://api.anthropic.com', computerTool: 'auto' });
    expect(sut.openai).toMatchObject({ baseUrl: 'https://api.openai.com/v1', computerTool: 'auto' });
    expect(sut.trajectories).toMatchObject({ maxAgeMs: 604800000 });
    const set = load({ CUA_MODEL_NAME: 'openai/gpt-5.4', AGENT_ALLOWED_MODELS: 'scripted/demo, openai/gpt-5.4', AGENT_ACK_SAFETY_CHECKS: 'true' });
    expect(set.agent).toMatchObject({ modelNameExplicit: true, allowedModels: ['openai/gpt-5.4', 'scripted/demo'], ackSafetyChecks: true });
    let err: unknown;
    try {
      load({ OPENAI_API_KEY: ' \t ', ANTHROPIC_BASE_URL: 'ftp://example.com', AGENT_ALLOWED_MODELS: 'no-slash', OPENAI_COMPATIBLE_API_KEY: '' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigValidationError).problems.map((p) => p.key).sort()).toEqual(['AGENT_ALLOWED_MODELS', 'ANTHROPIC_BASE_URL', 'OPENAI_API_KEY']);
    expect((err as Error).message).toMatch(/OPENAI_API_KEY=\(secret\)/);
    expect((err as Error).message).toMatch(/ANTHROPIC_BASE_URL="ftp:\/\/example.com": must be an http\(s\) URL/);
    expect(() => load({ ANTHROPIC_API_KEY: '', AGENT_RETRY_BASE_MS: '500', AGENT_RETRY_MAX_MS: '100' })).toThrow(/AGENT_RETRY_MAX_MS/);
  });

  it('auth settings: API_KEYS is a secret never printed, one key source only, per-principal cap at most MAX_SESSIONS', () => {
    const sut = load({ API_KEYS: 'k1:alice', MAX_SESSIONS: '4', MAX_SESSIONS_PER_PRINCIPAL: '9', ALLOWED_HOSTS: 'MCP.example.com, b', ALLOWED_ORIGINS: 'https://app.example.com/' });
    expect(sut.auth.apiKeys).toBe('k1:alice');
    expect(sut.session.maxSessionsPerPrincipal).toBe(4);
    expect(sut.pool.maxPerPrincipal).toBe(4);
    expect(load({ MAX_SESSIONS_PER_PRINCIPAL: '2', MAX_COMPUTERS_PER_PRINCIPAL: '6' }).pool.maxPerPrincipal).toBe(6);
    expect(() => load({ MAX_COMPUTERS_PER_PRINCIPAL: '0' })).toThrow(/MAX_COMPUTERS_PER_PRINCIPAL/);
    expect(sut.http).toMatchObject({ allowedHosts: ['mcp.example.com', 'b'], allowedOrigins: ['https://app.example.com'] });
    let err: unknown;
    try {
      load({ API_KEYS: 'sekrit-no-principal', STDIO_PRINCIPAL: 'bad name', ALLOWED_ORIGINS: 'app.example.com' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigValidationError).problems.map((p) => p.key).sort()).toEqual(['ALLOWED_ORIGINS', 'API_KEYS', 'STDIO_PRINCIPAL']);
    expect((err as Error).message).toMatch(/API_KEYS=\(secret\)/);
    expect((err as Error).message).not.toMatch(/sekrit/);
    expect(() => load({ API_KEYS: 'k:a', API_KEYS_FILE: '/run/keys' })).toThrow(/API_KEYS_FILE.*not both/);
  });

  it('LOG_FORMAT: json in production, pretty otherwise, unless set', () => {
    expect(load({}).log).toEqual({ level: 'info', format: 'pretty' });
    expect(load({ NODE_ENV: 'production' }).log.format).toBe('json');
    expect(load({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' }).log.format).toBe('pretty');
    expect(load({ LOG_FORMAT: 'json' }).log.format).toBe('json');
    expect(() => load({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  it('MCP session caps: the per-principal cap and the idle time of an unused session never exceed their wider settings', () => {
    const sut = load({ MCP_MAX_CONNECTIONS: '50', MCP_MAX_CONNECTIONS_PER_PRINCIPAL: '80', MCP_CONNECTION_IDLE_TIMEOUT_MS: '300000', SESSION_IDLE_TIMEOUT_MS: '60000' });
    expect(sut.mcp).toEqual({ maxConnections: 50, maxConnectionsPerPrincipal: 50, connectionIdleTimeoutMs: 60000 });
    expect(() => load({ MCP_MAX_CONNECTIONS: '0', MCP_CONNECTION_IDLE_TIMEOUT_MS: '10' })).toThrow(/MCP_CONNECTION_IDLE_TIMEOUT_MS.*\n.*MCP_MAX_CONNECTIONS|MCP_MAX_CONNECTIONS.*\n.*MCP_CONNECTION_IDLE_TIMEOUT_MS/);
  });

  it('HTTP limits and the probe port: a request timeout covers the headers, the probe port is a port of its own', () => {
    expect(load({ PROBE_PORT: '9090' }).http.probe).toEqual({ port: 9090, host: '127.0.0.1' });
    expect(load({ HOST: '0.0.0.0', PROBE_PORT: '0', PROBE_HOST: '10.0.0.7' }).http.probe).toEqual({ port: 0, host: '10.0.0.7' });
    expect(load({ PORT: '0', PROBE_PORT: '0' }).http.probe).toEqual({ port: 0, host: '127.0.0.1' });
    expect(() => load({ PORT: '8080', PROBE_PORT: '8080' })).toThrow(/PROBE_PORT=.*must differ from PORT \(8080\)/);
    expect(() => load({ PROBE_HOST: '0.0.0.0' })).toThrow(/PROBE_HOST=.*set PROBE_PORT too/);
    expect(() => load({ HTTP_HEADERS_TIMEOUT_MS: '40000', HTTP_REQUEST_TIMEOUT_MS: '20000' })).toThrow(/HTTP_REQUEST_TIMEOUT_MS=.*at least HTTP_HEADERS_TIMEOUT_MS \(40000\)/);
    expect(() => load({ HTTP_MAX_CONNECTIONS: '5', HTTP_KEEP_ALIVE_TIMEOUT_MS: 'long' })).toThrow(/HTTP_KEEP_ALIVE_TIMEOUT_MS.*\n.*HTTP_MAX_CONNECTIONS|HTTP_MAX_CONNECTIONS.*\n.*HTTP_KEEP_ALIVE_TIMEOUT_MS/);
  });

  it('desktop network: egress by default, lists parsed once, every bad entry named with what to write instead', () => {
    const sut = load({});
    expect(sut.xvfb.network).toEqual({
      mode: 'egress',
      explicit: false,
      lists: { anyDestination: true, allowRanges: [], allowNames: [], denyRanges: [], denyNames: [] },
      dns: [],
    });
    const set = load({
      COMPUTER_NETWORK_ALLOW: ' Docs.Example.com., 10.1.0.0/16 ,2001:db8::/32, 198.51.100.7',
      COMPUTER_NETWORK_DENY: 'ads.example.com,203.0.113.0/24',
      COMPUTER_NETWORK_DNS: '127.0.0.1:5353, [::1]:53, 9.9.9.9',
    }).xvfb.network;
    expect(set.explicit).toBe(true);
    expect(set.lists).toMatchObject({ anyDestination: false, allowNames: ['docs.example.com'], denyNames: ['ads.example.com'] });
    expect(set.lists.allowRanges.map((r) => r.text)).toEqual(['10.1.0.0/16', '2001:db8::/32', '198.51.100.7/32']);
    expect(set.lists.denyRanges.map((r) => r.text)).toEqual(['203.0.113.0/24']);
    expect(set.dns).toEqual([{ address: '127.0.0.1', port: 5353 }, { address: '::1', port: 53 }, { address: '9.9.9.9', port: 53 }]);
    expect(load({ COMPUTER_NETWORK_ALLOW: '*, 10.0.0.0/8' }).xvfb.network.lists).toMatchObject({ anyDestination: true });
    expect(load({ COMPUTER_NETWORK: 'off' }).xvfb.network).toMatchObject({ mode: 'off', explicit: true });

    let err: unknown;
    try {
      load({
        COMPUTER_NETWORK_ALLOW: 'ok.example.com, 169.254.169.254, 10.1.2.3/16, *.example.org, not a name, 127.0.0.1',
        COMPUTER_NETWORK_DENY: '*',
        COMPUTER_NETWORK_DNS: 'dns.example.com, 10.0.0.1:99999',
      });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigValidationError).problems.map((p) => p.key).sort()).toEqual(['COMPUTER_NETWORK_ALLOW', 'COMPUTER_NETWORK_DENY', 'COMPUTER_NETWORK_DNS']);
    const message = (err as Error).message;
    expect(message).toMatch(/"10.1.2.3\/16" has bits set after its \/16 prefix; write 10.1.0.0\/16/);
    expect(message).toMatch(/"\*.example.org": write example.org/);
    expect(message).toMatch(/"not a name" is neither an address range .* nor a host name/);
    expect(message).toMatch(/169.254.169.254\/32 is link-local \(cloud metadata services\): a desktop never reaches it/);
    expect(message).toMatch(/127.0.0.1\/32 is loopback/);
    expect(message).toMatch(/"\*" cannot be denied; set COMPUTER_NETWORK=off/);
    expect(message).toMatch(/"dns.example.com" is not an IP address/);
    expect(message).toMatch(/"10.0.0.1:99999": the port must be 1-65535/);
    // Lists mean egress: with another mode they are a mistake, not silently ignored.
    expect(() => load({ COMPUTER_NETWORK: 'on', COMPUTER_NETWORK_DENY: '203.0.113.0/24' })).toThrow(/COMPUTER_NETWORK_DENY="203.0.113.0\/24": applies only to COMPUTER_NETWORK=egress \(it is on\)/);
    expect(() => load({ COMPUTER_NETWORK: 'shared' })).toThrow(/COMPUTER_NETWORK="shared": must be egress, off or on/);
  });

  it('screen settling: measured defaults, 0 turns the wait off, and no window may be longer than the cap', () => {
    expect(load({}).computer.settle).toEqual({ quietMs: 50, firstChangeMs: 300, maxMs: 2000 });
    expect(load({}).cua.settleDelayMs).toBe(500);
    expect(load({ SCREENSHOT_SETTLE_MAX_MS: '0', SCREENSHOT_SETTLE_QUIET_MS: '100' }).computer.settle).toEqual({ quietMs: 100, firstChangeMs: 300, maxMs: 0 });
    let err: unknown;
    try {
      load({ SCREENSHOT_SETTLE_MAX_MS: '200', SCREENSHOT_SETTLE_QUIET_MS: '500', SCREENSHOT_SETTLE_FIRST_CHANGE_MS: '300', CUA_SETTLE_DELAY_MS: '-1' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigValidationError).problems.map((p) => p.key).sort()).toEqual(['CUA_SETTLE_DELAY_MS', 'SCREENSHOT_SETTLE_FIRST_CHANGE_MS', 'SCREENSHOT_SETTLE_QUIET_MS']);
    expect((err as Error).message).toMatch(/SCREENSHOT_SETTLE_QUIET_MS="500": must not be above SCREENSHOT_SETTLE_MAX_MS \(200\)/);
    expect(() => load({ SCREENSHOT_SETTLE_QUIET_MS: '0' })).toThrow(/SCREENSHOT_SETTLE_QUIET_MS/);
  });

  it('rejects a max idle timeout below the default idle timeout', () => {
    expect(() => load({ SESSION_IDLE_TIMEOUT_MS: '60000', SESSION_MAX_IDLE_TIMEOUT_MS: '5000' })).toThrow(/SESSION_MAX_IDLE_TIMEOUT_MS/);
  });

  it('DEFAULT_SESSION_IDLE_TIMEOUT_MS: at most SESSION_IDLE_TIMEOUT_MS when given; left unset, 2 min or the shorter SESSION_IDLE_TIMEOUT_MS', () => {
    expect(() => load({ SESSION_IDLE_TIMEOUT_MS: '60000', DEFAULT_SESSION_IDLE_TIMEOUT_MS: '90000' })).toThrow(
      /DEFAULT_SESSION_IDLE_TIMEOUT_MS="90000": must not be above SESSION_IDLE_TIMEOUT_MS \(60000\)/,
    );
    expect(() => load({ DEFAULT_SESSION_IDLE_TIMEOUT_MS: '999' })).toThrow(/DEFAULT_SESSION_IDLE_TIMEOUT_MS="999": must be a whole number from 1000/);
    expect(load({ SESSION_IDLE_TIMEOUT_MS: '60000' }).session.defaultIdleTimeoutMs).toBe(60000);
    expect(load({ DEFAULT_SESSION_IDLE_TIMEOUT_MS: '600000' }).session.defaultIdleTimeoutMs).toBe(600000);
  });

  it('the sweep runs at a quarter of the default sessions\' timeout, at most every 60 s, unless SESSION_SWEEP_INTERVAL_MS says otherwise', () => {
    expect(load({ DEFAULT_SESSION_IDLE_TIMEOUT_MS: '2000' }).session.sweepIntervalMs).toBe(500);
    expect(load({ SESSION_IDLE_TIMEOUT_MS: '1000' }).session.sweepIntervalMs).toBe(250);
    expect(load({ DEFAULT_SESSION_IDLE_TIMEOUT_MS: '600000' }).session.sweepIntervalMs).toBe(60000);
    expect(load({ SESSION_SWEEP_INTERVAL_MS: '45000' }).session.sweepIntervalMs).toBe(45000);
  });

  it('MAX_SESSIONS, when given, bounds the per-principal caps; unset, they stay unset or as given', () => {
    expect(load({ MAX_SESSIONS: '8' }).session).toMatchObject({ maxSessions: 8, maxSessionsPerPrincipal: 8 });
    expect(load({ MAX_SESSIONS: '8' }).pool.maxPerPrincipal).toBe(8);
    expect(load({ MAX_SESSIONS_PER_PRINCIPAL: '3' }).session).toMatchObject({ maxSessions: undefined, maxSessionsPerPrincipal: 3 });
    expect(load({ MAX_SESSIONS_PER_PRINCIPAL: '3' }).pool.maxPerPrincipal).toBe(3);
  });

  it('one message per bad key: PORT=notanumber says what a port must be, once', () => {
    expect(() => load({ PORT: 'notanumber' })).toThrow(/^Invalid configuration:\n {2}- PORT="notanumber": must be a whole number from 0 to 65535$/);
  });

  it('docs/settings.md is generated from the declarations and names every setting (npm run docs:settings rewrites it)', () => {
    const keys = declaredSettings().flatMap(settingKeys).map((k) => k.key);
    expect(keys).toEqual(expect.arrayContaining(['API_KEYS', 'MAX_SESSIONS_PER_PRINCIPAL', 'SHUTDOWN_GRACE_MS', 'CUA_COMPUTER_URLS', 'COMPUTER_SERVER_PORT']));
    expect(readFileSync(SETTINGS_DOC, 'utf8')).toBe(renderSettingsDoc(declaredSettings()));
  });
});
