import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { EnvironmentVariables, SECRET_SETTINGS } from './env.schema';
import { DnsServer, EgressLists, parseDnsServers, parseEgressLists } from './network-lists';

export class ConfigValidationError extends Error {
  override readonly name = 'ConfigValidationError';
  constructor(readonly problems: { key: string; value: unknown; reasons: string[] }[]) {
    super(
      'Invalid configuration:\n' +
        problems.map((p) => `  - ${p.key}=${SECRET_SETTINGS.has(p.key) ? '(secret)' : JSON.stringify(p.value)}: ${p.reasons.join('; ')}`).join('\n'),
    );
  }
}

function jsonObject(v?: string): boolean {
  if (v === undefined) return true;
  try {
    const parsed: unknown = JSON.parse(v);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

function validOrigins(v?: string): boolean {
  try {
    for (const o of (v ?? '').split(',').map((x) => x.trim()).filter(Boolean)) new URL(o);
    return true;
  } catch {
    return false;
  }
}

/** Why CUA_COMPUTER_URLS cannot be used, or undefined. Credentials belong in CUA_API_KEY, never in a URL (URLs are logged). */
function cuaUrlProblem(v?: string): string | undefined {
  const urls = (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      return `"${u}" is not a URL`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${u}" must be http or https`;
    if (url.username || url.password) return 'URLs must not carry credentials; set CUA_API_KEY instead';
    if (url.search || url.hash) return `"${url.origin}…" must be a base URL without query or fragment`;
  }
  if (new Set(urls.map((u) => u.replace(/\/+$/, ''))).size !== urls.length) return 'lists the same URL twice';
  return undefined;
}

/** Reads and validates the environment once. Throws ConfigValidationError naming every bad key. */
export function validateEnv(raw: Record<string, string | undefined>): EnvironmentVariables {
  const known = new EnvironmentVariables();
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(known)) {
    const v = raw[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const env = plainToInstance(EnvironmentVariables, input, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: true, forbidUnknownValues: true });
  const problems = errors.map((e) => ({
    key: e.property,
    value: input[e.property],
    reasons: Object.values(e.constraints ?? {}),
  }));
  const bad = new Set(problems.map((p) => p.key));
  const cross = (keys: (keyof EnvironmentVariables)[], broken: boolean, key: keyof EnvironmentVariables, reason: string) => {
    if (broken && !keys.some((k) => bad.has(k))) problems.push({ key, value: input[key], reasons: [reason] });
  };
  cross(['SESSION_MAX_IDLE_TIMEOUT_MS', 'SESSION_IDLE_TIMEOUT_MS'], env.SESSION_MAX_IDLE_TIMEOUT_MS < env.SESSION_IDLE_TIMEOUT_MS, 'SESSION_MAX_IDLE_TIMEOUT_MS', `must be at least SESSION_IDLE_TIMEOUT_MS (${env.SESSION_IDLE_TIMEOUT_MS})`);
  cross(['HTTP_REQUEST_TIMEOUT_MS', 'HTTP_HEADERS_TIMEOUT_MS'], env.HTTP_REQUEST_TIMEOUT_MS < env.HTTP_HEADERS_TIMEOUT_MS, 'HTTP_REQUEST_TIMEOUT_MS', `must be at least HTTP_HEADERS_TIMEOUT_MS (${env.HTTP_HEADERS_TIMEOUT_MS}): the headers are part of the request`);
  cross(['PROBE_PORT', 'PORT'], env.PROBE_PORT !== undefined && env.PROBE_PORT !== 0 && env.PROBE_PORT === env.PORT, 'PROBE_PORT', `must differ from PORT (${env.PORT}): it is a second port for health and metrics alone`);
  cross(['PROBE_HOST', 'PROBE_PORT'], env.PROBE_HOST !== undefined && env.PROBE_PORT === undefined, 'PROBE_HOST', 'is the address of PROBE_PORT: set PROBE_PORT too');
  cross(['POOL_MIN_WARM', 'POOL_MAX_SIZE'], env.POOL_MIN_WARM > env.POOL_MAX_SIZE, 'POOL_MIN_WARM', `must not be above POOL_MAX_SIZE (${env.POOL_MAX_SIZE})`);
  cross(['AGENT_RETRY_MAX_MS', 'AGENT_RETRY_BASE_MS'], env.AGENT_RETRY_MAX_MS < env.AGENT_RETRY_BASE_MS, 'AGENT_RETRY_MAX_MS', `must be at least AGENT_RETRY_BASE_MS (${env.AGENT_RETRY_BASE_MS})`);
  cross(['POOL_RETRY_MAX_MS', 'POOL_RETRY_BASE_MS'], env.POOL_RETRY_MAX_MS < env.POOL_RETRY_BASE_MS, 'POOL_RETRY_MAX_MS', `must be at least POOL_RETRY_BASE_MS (${env.POOL_RETRY_BASE_MS})`);
  for (const key of ['SCREENSHOT_SETTLE_QUIET_MS', 'SCREENSHOT_SETTLE_FIRST_CHANGE_MS'] as const) {
    cross([key, 'SCREENSHOT_SETTLE_MAX_MS'], env.SCREENSHOT_SETTLE_MAX_MS > 0 && env[key] > env.SCREENSHOT_SETTLE_MAX_MS, key, `must not be above SCREENSHOT_SETTLE_MAX_MS (${env.SCREENSHOT_SETTLE_MAX_MS})`);
  }
  cross(['API_KEYS', 'API_KEYS_FILE'], env.API_KEYS !== undefined && env.API_KEYS_FILE !== undefined, 'API_KEYS_FILE', 'set either API_KEYS or API_KEYS_FILE, not both');
  cross(['ALLOWED_ORIGINS'], !validOrigins(env.ALLOWED_ORIGINS), 'ALLOWED_ORIGINS', 'each origin must be a URL such as https://app.example.com');
  cross(['COMPUTER_SERVER_TLS_CERT_FILE', 'COMPUTER_SERVER_TLS_KEY_FILE'], (env.COMPUTER_SERVER_TLS_CERT_FILE === undefined) !== (env.COMPUTER_SERVER_TLS_KEY_FILE === undefined), env.COMPUTER_SERVER_TLS_CERT_FILE === undefined ? 'COMPUTER_SERVER_TLS_CERT_FILE' : 'COMPUTER_SERVER_TLS_KEY_FILE', 'set both COMPUTER_SERVER_TLS_CERT_FILE and COMPUTER_SERVER_TLS_KEY_FILE, or neither');
  cross(['COMPUTER_SERVER_CONTAINER_NAME', 'COMPUTER_SERVER_API_KEY'], env.COMPUTER_SERVER_CONTAINER_NAME !== undefined && env.COMPUTER_SERVER_API_KEY === undefined, 'COMPUTER_SERVER_CONTAINER_NAME', 'is checked only together with an API key: set COMPUTER_SERVER_API_KEY too');
  cross(['KUBERNETES_POD_TEMPLATE', 'KUBERNETES_POD_TEMPLATE_FILE'], env.KUBERNETES_POD_TEMPLATE !== undefined && env.KUBERNETES_POD_TEMPLATE_FILE !== undefined, 'KUBERNETES_POD_TEMPLATE_FILE', 'set either KUBERNETES_POD_TEMPLATE or KUBERNETES_POD_TEMPLATE_FILE, not both');
  cross(['KUBERNETES_POD_TEMPLATE'], !jsonObject(env.KUBERNETES_POD_TEMPLATE), 'KUBERNETES_POD_TEMPLATE', 'must be a JSON object: a Pod such as {"spec":{"runtimeClassName":"gvisor"}}');
  cross(
    ['KUBERNETES_BACKEND', 'KUBERNETES_SANDBOX_WARM_POOL', 'KUBERNETES_SANDBOX_TEMPLATE'],
    env.KUBERNETES_BACKEND === 'agent-sandbox' && !env.KUBERNETES_SANDBOX_WARM_POOL && !env.KUBERNETES_SANDBOX_TEMPLATE,
    'KUBERNETES_BACKEND',
    'agent-sandbox needs KUBERNETES_SANDBOX_WARM_POOL (or, for v1alpha1 claims, KUBERNETES_SANDBOX_TEMPLATE)',
  );
  const networkLists = ['COMPUTER_NETWORK_ALLOW', 'COMPUTER_NETWORK_DENY', 'COMPUTER_NETWORK_DNS'] as const;
  for (const key of networkLists) {
    cross(['COMPUTER_NETWORK', key], env[key] !== undefined && env.COMPUTER_NETWORK !== 'egress', key, `applies only to COMPUTER_NETWORK=egress (it is ${env.COMPUTER_NETWORK})`);
  }
  const listProblem = (key: (typeof networkLists)[number], parse: () => unknown) => {
    try {
      parse();
    } catch (e) {
      cross([key], true, key, (e as Error).message);
    }
  };
  listProblem('COMPUTER_NETWORK_ALLOW', () => parseEgressLists(env.COMPUTER_NETWORK_ALLOW, undefined));
  listProblem('COMPUTER_NETWORK_DENY', () => parseEgressLists(undefined, env.COMPUTER_NETWORK_DENY));
  listProblem('COMPUTER_NETWORK_DNS', () => parseDnsServers(env.COMPUTER_NETWORK_DNS));
  const cuaUrls = (env.CUA_COMPUTER_URLS ?? '').split(',').filter((u) => u.trim()).length;
  const cuaProblem = cuaUrlProblem(env.CUA_COMPUTER_URLS);
  if (cuaProblem && !bad.has('CUA_COMPUTER_URLS')) {
    // A URL with user:password@ is not shown back (the message is logged).
    const shown = /\/\/[^/,]*@/.test(env.CUA_COMPUTER_URLS ?? '') ? '(hidden: it holds credentials)' : input.CUA_COMPUTER_URLS;
    problems.push({ key: 'CUA_COMPUTER_URLS', value: shown, reasons: [cuaProblem] });
  }
  if (env.COMPUTER_PROVIDER === 'cua') {
    cross(['CUA_COMPUTER_URLS', 'COMPUTER_PROVIDER'], cuaUrls === 0, 'CUA_COMPUTER_URLS', 'is required with COMPUTER_PROVIDER=cua: the base URLs of the cua computer-servers, e.g. http://10.0.0.5:8000');
    // One session per remote computer: more would only wait. Left unset, POOL_MAX_SIZE becomes the number of URLs.
    const over = (key: 'POOL_MAX_SIZE' | 'POOL_MIN_WARM') =>
      cross([key, 'CUA_COMPUTER_URLS'], cuaUrls > 0 && input[key] !== undefined && env[key] > cuaUrls, key, `must not be above the ${cuaUrls} remote computers in CUA_COMPUTER_URLS (each serves one session at a time); lower it or list more URLs`);
    over('POOL_MAX_SIZE');
    over('POOL_MIN_WARM');
  }
  if (problems.length) throw new ConfigValidationError(problems);
  return env;
}

/**
 * Typed, namespaced settings. Each feature reads its own namespace; the class is the DI token.
 */
export class AppConfig {
  readonly http: {
    host: string;
    port: number;
    /** Lower-case host names the Host header of /mcp may carry (port ignored); empty = the loopback rule. */
    allowedHosts: string[];
    /** Origins (`scheme://host[:port]`, normalised) an Origin header of /mcp may carry; empty = the loopback rule. */
    allowedOrigins: string[];
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
    /** The port of /health/* and /metrics alone, when set (0: a free one). */
    probe?: { port: number; host: string };
  };
  readonly auth: {
    /** `key:principal` pairs (secret), when set. */
    apiKeys?: string;
    apiKeysFile?: string;
    stdioPrincipal: string;
  };
  readonly metrics: { token?: string };
  /** MCP sessions over Streamable HTTP: caps and the idle time of an unused one. */
  readonly mcp: { maxConnections: number; maxConnectionsPerPrincipal: number; connectionIdleTimeoutMs: number };
  readonly log: { level: 'debug' | 'info' | 'warn' | 'error'; format: 'json' | 'pretty' };
  readonly computer: {
    provider: string;
    screenWidth: number;
    screenHeight: number;
    /** What the programs of an xvfb desktop reach (see docs/security.md). */
    network: {
      mode: 'egress' | 'off' | 'on';
      /** Set by the operator (COMPUTER_NETWORK or a list): egress that cannot start here is then an error, not a fall-back to off. */
      explicit: boolean;
      lists: EgressLists;
      /** Upstream resolvers of the desktops' DNS; empty: the host's. */
      dns: DnsServer[];
    };
    /** DESKTOP_PROFILE: what runs on an xvfb desktop. */
    desktopProfile: string;
    commandTimeoutMs: number;
    commandOutputLimitBytes: number;
    fakeCreateDelayMs: number;
    /** What one xvfb computer may use. */
    limits: { maxProcesses: number; memoryBytes: number; diskBytes: number; maxCommands: number };
    /** Host uids for computers of a root server: [base, base + count). */
    sandboxUids: { base: number; count: number };
    screenshot: { maxLongEdge: number; maxPixels: number; maxBytes: number };
    /** How a screenshot after an action waits for the screen to settle (maxMs 0: it does not wait). */
    settle: { quietMs: number; firstChangeMs: number; maxMs: number };
    /** COMPUTER_PROVIDER=cua: remote cua computer-servers. */
    cua: { urls: string[]; apiKey?: string; containerName?: string; requestTimeoutMs: number; resetCommand?: string; settleDelayMs: number };
    /** COMPUTER_PROVIDER=kubernetes: desktops as pods or agent-sandbox claims. */
    kubernetes: {
      backend: 'auto' | 'pods' | 'agent-sandbox';
      namespace: string;
      desktopImage?: string;
      desktopPort: number;
      /** The pod template as JSON text, or a file (YAML or JSON) holding it. */
      podTemplate?: string;
      podTemplateFile?: string;
      readyTimeoutMs: number;
      deleteGraceSeconds: number;
      release: string;
      sandboxWarmPool?: string;
      sandboxTemplate?: string;
      /** The server's own pod, from the downward API; unset outside a cluster. */
      self: { podName?: string; podUid?: string; podNamespace?: string };
    };
  };
  readonly pool: {
    maxSize: number;
    /** Computers one principal may hold or wait for at once (MAX_COMPUTERS_PER_PRINCIPAL). */
    maxPerPrincipal: number;
    minWarm: number;
    maxWaiters: number;
    acquireTimeoutMs: number;
    createTimeoutMs: number;
    destroyTimeoutMs: number;
    validateTimeoutMs: number;
    idleTimeoutMs: number;
    maxLifetimeMs: number;
    leaseWarnMs: number;
    retryBaseMs: number;
    retryMaxMs: number;
  };
  readonly session: { maxSessions: number; maxSessionsPerPrincipal: number; sweepIntervalMs: number; idleTimeoutMs: number; maxIdleTimeoutMs: number };
  readonly agent: {
    modelName: string;
    /** False when CUA_MODEL_NAME was left at its default (then a missing key only warns at boot). */
    modelNameExplicit: boolean;
    /** Models a call may pick with `model` (always includes modelName). */
    allowedModels: string[];
    maxSteps: number;
    taskTimeoutMs: number;
    modelTimeoutMs: number;
    maxRetries: number;
    retryBaseMs: number;
    retryMaxMs: number;
    maxTokensPerTask: number;
    maxImages: number;
    ackSafetyChecks: boolean;
    scriptedSteps: number;
    scriptedStepMs: number;
    heartbeatMs: number;
    anthropic: { apiKey?: string; baseUrl: string; computerTool: string };
    openai: { apiKey?: string; baseUrl: string; computerTool: string };
    openaiCompatible: { apiKey?: string; baseUrl?: string };
    trajectories: { dir?: string; maxAgeMs: number };
  };
  readonly shutdown: { graceMs: number };
  /** computer-server mode. */
  readonly computerServer: {
    port: number;
    /** The key clients must present (secret), when set. */
    apiKey?: string;
    containerName?: string;
    /** HOST was set explicitly (otherwise the mode picks its own default bind address). */
    hostGiven: boolean;
    /** PEM files: serve https/wss instead of http/ws. */
    tls?: { certFile: string; keyFile: string };
  };

  /** `given`: the settings that were set in the environment (not left at their defaults). */
  constructor(env: EnvironmentVariables, given: ReadonlySet<string> = new Set()) {
    const list = (v?: string) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    this.http = {
      host: env.HOST,
      port: env.PORT,
      allowedHosts: list(env.ALLOWED_HOSTS).map((h) => h.toLowerCase()),
      allowedOrigins: list(env.ALLOWED_ORIGINS).map((o) => new URL(o).origin),
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: env.HTTP_MAX_CONNECTIONS,
      probe: env.PROBE_PORT === undefined ? undefined : { port: env.PROBE_PORT, host: env.PROBE_HOST ?? env.HOST },
    };
    this.auth = { apiKeys: env.API_KEYS, apiKeysFile: env.API_KEYS_FILE, stdioPrincipal: env.STDIO_PRINCIPAL };
    this.metrics = { token: env.METRICS_TOKEN };
    this.mcp = {
      maxConnections: env.MCP_MAX_CONNECTIONS,
      maxConnectionsPerPrincipal: Math.min(env.MCP_MAX_CONNECTIONS_PER_PRINCIPAL, env.MCP_MAX_CONNECTIONS),
      connectionIdleTimeoutMs: Math.min(env.MCP_CONNECTION_IDLE_TIMEOUT_MS, env.SESSION_IDLE_TIMEOUT_MS),
    };
    this.log = {
      level: env.LOG_LEVEL as AppConfig['log']['level'],
      format: (env.LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'pretty')) as AppConfig['log']['format'],
    };
    this.computer = {
      provider: env.COMPUTER_PROVIDER,
      screenWidth: env.SCREEN_WIDTH,
      screenHeight: env.SCREEN_HEIGHT,
      network: {
        mode: env.COMPUTER_NETWORK as AppConfig['computer']['network']['mode'],
        explicit: ['COMPUTER_NETWORK', 'COMPUTER_NETWORK_ALLOW', 'COMPUTER_NETWORK_DENY', 'COMPUTER_NETWORK_DNS'].some((k) => given.has(k)),
        lists: parseEgressLists(env.COMPUTER_NETWORK_ALLOW, env.COMPUTER_NETWORK_DENY),
        dns: parseDnsServers(env.COMPUTER_NETWORK_DNS),
      },
      desktopProfile: env.DESKTOP_PROFILE,
      commandTimeoutMs: env.COMMAND_TIMEOUT_MS,
      commandOutputLimitBytes: env.COMMAND_OUTPUT_LIMIT_BYTES,
      fakeCreateDelayMs: env.FAKE_CREATE_DELAY_MS,
      limits: {
        maxProcesses: env.SESSION_MAX_PROCESSES,
        memoryBytes: env.SESSION_MAX_MEMORY_MB * 1024 * 1024,
        diskBytes: env.SESSION_MAX_DISK_MB * 1024 * 1024,
        maxCommands: env.SESSION_MAX_COMMANDS,
      },
      sandboxUids: { base: env.SANDBOX_UID_BASE, count: env.SANDBOX_UID_COUNT },
      screenshot: {
        maxLongEdge: env.SCREENSHOT_MAX_LONG_EDGE,
        maxPixels: env.SCREENSHOT_MAX_PIXELS,
        maxBytes: env.SCREENSHOT_MAX_BYTES,
      },
      settle: {
        quietMs: env.SCREENSHOT_SETTLE_QUIET_MS,
        firstChangeMs: env.SCREENSHOT_SETTLE_FIRST_CHANGE_MS,
        maxMs: env.SCREENSHOT_SETTLE_MAX_MS,
      },
      cua: {
        urls: list(env.CUA_COMPUTER_URLS).map((u) => u.replace(/\/+$/, '')),
        apiKey: env.CUA_API_KEY,
        containerName: env.CUA_CONTAINER_NAME,
        requestTimeoutMs: env.CUA_REQUEST_TIMEOUT_MS,
        resetCommand: env.CUA_RESET_COMMAND,
        settleDelayMs: env.CUA_SETTLE_DELAY_MS,
      },
      kubernetes: {
        backend: env.KUBERNETES_BACKEND as AppConfig['computer']['kubernetes']['backend'],
        namespace: env.KUBERNETES_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
        desktopImage: env.KUBERNETES_DESKTOP_IMAGE,
        desktopPort: env.KUBERNETES_DESKTOP_PORT,
        podTemplate: env.KUBERNETES_POD_TEMPLATE,
        podTemplateFile: env.KUBERNETES_POD_TEMPLATE_FILE,
        readyTimeoutMs: env.KUBERNETES_POD_READY_TIMEOUT_MS,
        deleteGraceSeconds: env.KUBERNETES_POD_DELETE_GRACE_SECONDS,
        release: env.KUBERNETES_RELEASE,
        sandboxWarmPool: env.KUBERNETES_SANDBOX_WARM_POOL,
        sandboxTemplate: env.KUBERNETES_SANDBOX_TEMPLATE,
        self: { podName: env.POD_NAME, podUid: env.POD_UID, podNamespace: env.POD_NAMESPACE },
      },
    };
    const maxSessionsPerPrincipal = Math.min(env.MAX_SESSIONS_PER_PRINCIPAL ?? env.MAX_SESSIONS, env.MAX_SESSIONS);
    this.pool = {
      maxPerPrincipal: env.MAX_COMPUTERS_PER_PRINCIPAL ?? maxSessionsPerPrincipal,
      // COMPUTER_PROVIDER=cua: at most one computer per remote endpoint (validateEnv refuses an explicit value above that).
      maxSize: env.COMPUTER_PROVIDER === 'cua' && env.CUA_COMPUTER_URLS ? Math.min(env.POOL_MAX_SIZE, list(env.CUA_COMPUTER_URLS).length) : env.POOL_MAX_SIZE,
      acquireTimeoutMs: env.POOL_ACQUIRE_TIMEOUT_MS,
      createTimeoutMs: env.POOL_CREATE_TIMEOUT_MS,
      destroyTimeoutMs: env.POOL_DESTROY_TIMEOUT_MS,
      minWarm: env.POOL_MIN_WARM,
      maxWaiters: env.POOL_MAX_WAITERS,
      validateTimeoutMs: env.POOL_VALIDATE_TIMEOUT_MS,
      idleTimeoutMs: env.POOL_IDLE_TIMEOUT_MS,
      maxLifetimeMs: env.POOL_MAX_LIFETIME_MS,
      leaseWarnMs: env.POOL_LEASE_WARN_MS,
      retryBaseMs: env.POOL_RETRY_BASE_MS,
      retryMaxMs: env.POOL_RETRY_MAX_MS,
    };
    this.session = {
      maxSessions: env.MAX_SESSIONS,
      maxSessionsPerPrincipal,
      sweepIntervalMs: env.SESSION_SWEEP_INTERVAL_MS,
      idleTimeoutMs: env.SESSION_IDLE_TIMEOUT_MS,
      maxIdleTimeoutMs: env.SESSION_MAX_IDLE_TIMEOUT_MS,
    };
    const allowed = (env.AGENT_ALLOWED_MODELS ?? '').split(',').map((m) => m.trim()).filter(Boolean);
    this.agent = {
      modelName: env.CUA_MODEL_NAME,
      modelNameExplicit: given.has('CUA_MODEL_NAME'),
      allowedModels: [...new Set([env.CUA_MODEL_NAME, ...allowed])],
      maxSteps: env.AGENT_MAX_STEPS,
      taskTimeoutMs: env.AGENT_TASK_TIMEOUT_MS,
      modelTimeoutMs: env.AGENT_MODEL_TIMEOUT_MS,
      maxRetries: env.AGENT_MAX_RETRIES,
      retryBaseMs: env.AGENT_RETRY_BASE_MS,
      retryMaxMs: env.AGENT_RETRY_MAX_MS,
      maxTokensPerTask: env.AGENT_MAX_TOKENS_PER_TASK,
      maxImages: env.CUA_MAX_IMAGES,
      ackSafetyChecks: env.AGENT_ACK_SAFETY_CHECKS,
      scriptedSteps: env.SCRIPTED_MODEL_STEPS,
      scriptedStepMs: env.SCRIPTED_MODEL_STEP_MS,
      heartbeatMs: env.PROGRESS_HEARTBEAT_MS,
      anthropic: { apiKey: env.ANTHROPIC_API_KEY, baseUrl: env.ANTHROPIC_BASE_URL, computerTool: env.ANTHROPIC_COMPUTER_TOOL },
      openai: { apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL, computerTool: env.OPENAI_COMPUTER_TOOL },
      openaiCompatible: { apiKey: env.OPENAI_COMPATIBLE_API_KEY, baseUrl: env.OPENAI_COMPATIBLE_BASE_URL },
      trajectories: { dir: env.TRAJECTORY_DIR, maxAgeMs: env.TRAJECTORY_MAX_AGE_MS },
    };
    this.shutdown = { graceMs: env.SHUTDOWN_GRACE_MS };
    this.computerServer = {
      port: env.COMPUTER_SERVER_PORT,
      apiKey: env.COMPUTER_SERVER_API_KEY,
      containerName: env.COMPUTER_SERVER_CONTAINER_NAME,
      hostGiven: given.has('HOST'),
      tls:
        env.COMPUTER_SERVER_TLS_CERT_FILE && env.COMPUTER_SERVER_TLS_KEY_FILE
          ? { certFile: env.COMPUTER_SERVER_TLS_CERT_FILE, keyFile: env.COMPUTER_SERVER_TLS_KEY_FILE }
          : undefined,
    };
  }

  static fromEnv(raw: Record<string, string | undefined>): AppConfig {
    const given = new Set(Object.keys(raw).filter((k) => raw[k] !== undefined && raw[k]?.trim() !== ''));
    return new AppConfig(validateEnv(raw), given);
  }
}
