import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  return ['true', '1', 'yes', 'on'].includes(v) ? true : ['false', '0', 'no', 'off'].includes(v) ? false : value;
};
const URL_OPTIONS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };
const MODEL_NAME = /^[a-z][a-z0-9-]*\/\S+$/;
const K8S_DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const K8S_DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const K8S_LABEL_VALUE = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** A principal (tenant) name. */
export const PRINCIPAL = /^[A-Za-z0-9._@-]{1,128}$/;
/** `key:principal[,key:principal…]`; a key is any run of characters without comma or whitespace. */
const API_KEYS_LIST = /^\s*[^\s,]+:[A-Za-z0-9._@-]{1,128}\s*(,\s*[^\s,]+:[A-Za-z0-9._@-]{1,128}\s*)*$/;

/** The default model: a current Claude model with computer use (the GA toolset). */
export const DEFAULT_MODEL_NAME = 'anthropic/claude-sonnet-5-5';
/** Settings whose values are secrets: never printed, not even in a validation error. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set(['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'OPENAI_COMPATIBLE_API_KEY', 'API_KEYS', 'METRICS_TOKEN', 'COMPUTER_SERVER_API_KEY', 'CUA_API_KEY']);

/**
 * Every setting the server reads from the environment, with its default.
 * The README's settings table is written from this class: keep them in step.
 */
export class EnvironmentVariables {
  // --- HTTP ---
  @Transform(trim) @IsString() @MinLength(1)
  HOST = '127.0.0.1';

  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  /** A client must send its request headers within this long, or gets 408 and is disconnected. */
  @Transform(toInt) @IsInt() @Min(1000) @Max(600_000)
  HTTP_HEADERS_TIMEOUT_MS = 30_000;

  /** A client must send its whole request (headers and body) within this long; the answer (an SSE stream) may take longer. */
  @Transform(toInt) @IsInt() @Min(1000) @Max(3_600_000)
  HTTP_REQUEST_TIMEOUT_MS = 60_000;

  /** An idle keep-alive connection is closed after this long. */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;

  /** Most open connections on PORT; more are closed at once (keep it below the open-file limit, `ulimit -n`). */
  @Transform(toInt) @IsInt() @Min(10) @Max(1_000_000)
  HTTP_MAX_CONNECTIONS = 10_000;

  /** A second port serving only GET /health/live, /health/ready and /metrics; unset: none. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PROBE_PORT?: number;

  /** Address of PROBE_PORT; unset: HOST. */
  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  PROBE_HOST?: string;

  @Transform(trim) @IsIn(['debug', 'info', 'warn', 'error'])
  LOG_LEVEL = 'info';

  /** `json` (one object per line) or `pretty`; unset: json when NODE_ENV=production, pretty otherwise. */
  @IsOptional() @Transform(trim) @IsIn(['json', 'pretty'])
  LOG_FORMAT?: string;

  // --- Auth and tenancy ---
  /** Comma-separated `key:principal` pairs (secret). */
  @IsOptional() @Transform(trim) @Matches(API_KEYS_LIST, { message: 'API_KEYS must be a comma-separated list of key:principal pairs (principal: letters, digits and . _ @ -)' })
  API_KEYS?: string;

  /** A file of `key:principal` pairs (one per line or comma-separated; # comments), re-read when it changes. */
  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  API_KEYS_FILE?: string;

  @Transform(trim) @Matches(PRINCIPAL, { message: 'STDIO_PRINCIPAL must be letters, digits and . _ @ - (at most 128)' })
  STDIO_PRINCIPAL = 'anonymous';

  /** Most sessions one principal may hold at once; unset = MAX_SESSIONS. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  MAX_SESSIONS_PER_PRINCIPAL?: number;

  /** Most computers one principal may hold or wait for at once (sessions' computers, concurrent tasks' extra ones, waits); unset = MAX_SESSIONS_PER_PRINCIPAL. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  MAX_COMPUTERS_PER_PRINCIPAL?: number;

  /** Comma-separated host names the Host header may carry on /mcp (port ignored). */
  @IsOptional() @Transform(trim) @Matches(/^\s*[^\s,]+\s*(,\s*[^\s,]+\s*)*$/, { message: 'ALLOWED_HOSTS must be a comma-separated list of host names' })
  ALLOWED_HOSTS?: string;

  /** Comma-separated origins (scheme://host[:port]) an Origin header on /mcp may carry. */
  @IsOptional() @Transform(trim) @Matches(/^\s*https?:\/\/[^\s,/]+\/?\s*(,\s*https?:\/\/[^\s,/]+\/?\s*)*$/, { message: 'ALLOWED_ORIGINS must be a comma-separated list of origins such as https://app.example.com' })
  ALLOWED_ORIGINS?: string;

  // --- MCP sessions (Streamable HTTP) ---
  /** Most MCP sessions open at once on the server (initialize gets 429 beyond it). */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  MCP_MAX_CONNECTIONS = 1000;

  /** Most MCP sessions one principal may have open at once (at most MCP_MAX_CONNECTIONS). */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  MCP_MAX_CONNECTIONS_PER_PRINCIPAL = 100;

  /** An MCP session with no call running, no GET stream and no default session ends after this long without requests (at most SESSION_IDLE_TIMEOUT_MS). */
  @Transform(toInt) @IsInt() @Min(1000) @Max(604_800_000)
  MCP_CONNECTION_IDLE_TIMEOUT_MS = 120_000;

  // --- Observability ---
  /** When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>` (secret). */
  @IsOptional() @Transform(trim) @IsString() @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  // --- Computers ---
  @Transform(trim) @Matches(/^[a-z][a-z0-9-]*$/, { message: 'COMPUTER_PROVIDER must be a provider name such as xvfb or fake' })
  COMPUTER_PROVIDER = 'xvfb';

  @Transform(toInt) @IsInt() @Min(320) @Max(7680)
  SCREEN_WIDTH = 1280;

  @Transform(toInt) @IsInt() @Min(240) @Max(4320)
  SCREEN_HEIGHT = 800;

  /** `egress` (the internet, not the host, its cluster or private ranges), `off` (no network) or `on` (the host's network: unsafe for several tenants). */
  @Transform(trim) @IsIn(['egress', 'off', 'on'], { message: 'COMPUTER_NETWORK must be egress, off or on' })
  COMPUTER_NETWORK = 'egress';

  /** egress: comma-separated host names and address ranges desktops may reach (`*`: any not blocked); unset: `*`. */
  @IsOptional() @IsString()
  COMPUTER_NETWORK_ALLOW?: string;

  /** egress: comma-separated host names and address ranges desktops may not reach. */
  @IsOptional() @IsString()
  COMPUTER_NETWORK_DENY?: string;

  /** egress: comma-separated DNS servers (IP[:port]) the desktops' resolver asks; unset: the host's (/etc/resolv.conf). */
  @IsOptional() @IsString()
  COMPUTER_NETWORK_DNS?: string;

  /** What runs on an xvfb desktop: `standard` (panel, browser, editor, files, terminal), `minimal` (openbox and xterm), or a registered profile. */
  @Transform(trim) @Matches(/^[a-z][a-z0-9-]*$/, { message: 'DESKTOP_PROFILE must be a profile name such as standard or minimal' })
  DESKTOP_PROFILE = 'standard';

  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  COMMAND_TIMEOUT_MS = 30_000;

  @Transform(toInt) @IsInt() @Min(1024) @Max(64 * 1024 * 1024)
  COMMAND_OUTPUT_LIMIT_BYTES = 1_048_576;

  @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  FAKE_CREATE_DELAY_MS = 0;

  // --- Per-computer limits (xvfb desktops; see docs/security.md) ---
  /** Processes (threads) one computer may run: its control group's limit, or each sandbox's RLIMIT_NPROC. */
  @Transform(toInt) @IsInt() @Min(32) @Max(100_000)
  SESSION_MAX_PROCESSES = 1024;

  /** Memory of one computer's processes together, in MiB (with control groups). */
  @Transform(toInt) @IsInt() @Min(64) @Max(1_048_576)
  SESSION_MAX_MEMORY_MB = 4096;

  /** Home and /tmp of one computer together, in MiB (a sized tmpfs when the server is root; otherwise the largest file). */
  @Transform(toInt) @IsInt() @Min(16) @Max(1_048_576)
  SESSION_MAX_DISK_MB = 1024;

  /** Commands (run_command and file operations) one computer runs at once. */
  @Transform(toInt) @IsInt() @Min(1) @Max(256)
  SESSION_MAX_COMMANDS = 8;

  /** First host uid of the range computers run as when the server is root (one uid per computer). */
  @Transform(toInt) @IsInt() @Min(1000) @Max(2_000_000_000)
  SANDBOX_UID_BASE = 50_000;

  /** How many host uids the range holds: at least the most computers alive at once. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  SANDBOX_UID_COUNT = 5_000;

  // --- Remote computers (COMPUTER_PROVIDER=cua) ---
  /** Comma-separated http(s) base URLs of cua computer-servers; each serves one session at a time. */
  @IsOptional() @Transform(trim) @Matches(/^\s*https?:\/\/[^\s,]+\s*(,\s*https?:\/\/[^\s,]+\s*)*$/, { message: 'CUA_COMPUTER_URLS must be a comma-separated list of http(s) URLs such as http://10.0.0.5:8000' })
  CUA_COMPUTER_URLS?: string;

  /** The key the cua computer-servers want (secret): sent in the WebSocket authenticate frame and as X-API-Key. */
  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  CUA_API_KEY?: string;

  /** The container name sent with the key (authenticate frame, X-Container-Name). */
  @IsOptional() @Transform(trim) @Matches(/^\S{1,253}$/, { message: 'CUA_CONTAINER_NAME must be a name without spaces (at most 253 characters)' })
  CUA_CONTAINER_NAME?: string;

  /** Time limit of one request to a cua computer-server (connecting, one command); a command's own limit is added for run_command. */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  CUA_REQUEST_TIMEOUT_MS = 10_000;

  /** A shell command run on the remote computer between sessions instead of the default reset; it must exit 0. */
  @IsOptional() @IsString() @MinLength(1)
  CUA_RESET_COMMAND?: string;

  /** The cua protocol has no change signal: a screenshot after an action on a remote computer waits this fixed time (at most SCREENSHOT_SETTLE_MAX_MS). */
  @Transform(toInt) @IsInt() @Min(0) @Max(60_000)
  CUA_SETTLE_DELAY_MS = 500;

  @Transform(toInt) @IsInt() @Min(64) @Max(7680)
  SCREENSHOT_MAX_LONG_EDGE = 1568;

  @Transform(toInt) @IsInt() @Min(10_000) @Max(100_000_000)
  SCREENSHOT_MAX_PIXELS = 1_150_000;

  @Transform(toInt) @IsInt() @Min(10_000) @Max(50_000_000)
  SCREENSHOT_MAX_BYTES = 1_000_000;

  /** A screenshot after an action waits until no part of the screen has changed for this long (the screen has settled). */
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  SCREENSHOT_SETTLE_QUIET_MS = 50;

  /** When an action has changed nothing yet, how long to wait for a first change before taking the screenshot anyway. */
  @Transform(toInt) @IsInt() @Min(0) @Max(60_000)
  SCREENSHOT_SETTLE_FIRST_CHANGE_MS = 300;

  /** The longest a screenshot after an action waits for the screen to settle (a screen may never stop changing); 0 turns the wait off. */
  @Transform(toInt) @IsInt() @Min(0) @Max(60_000)
  SCREENSHOT_SETTLE_MAX_MS = 2000;

  // --- Kubernetes (COMPUTER_PROVIDER=kubernetes) ---
  /** `pods` (desktop pods of our own), `agent-sandbox` (SandboxClaims), or `auto` (agent-sandbox when its CRDs are served and a warm pool or template is named). */
  @Transform(trim) @IsIn(['auto', 'pods', 'agent-sandbox'])
  KUBERNETES_BACKEND = 'auto';

  /** Namespace of the desktops; unset: POD_NAMESPACE, else `default`. */
  @IsOptional() @Transform(trim) @Matches(K8S_DNS_LABEL, { message: 'KUBERNETES_NAMESPACE must be a Kubernetes namespace name (lower-case letters, digits, -)' })
  KUBERNETES_NAMESPACE?: string;

  /** Image of a desktop pod; unset: this project's image, which serves desktops with `computer-server`. */
  @IsOptional() @Transform(trim) @Matches(/^[^\s]+$/, { message: 'KUBERNETES_DESKTOP_IMAGE must be an image reference without spaces' })
  KUBERNETES_DESKTOP_IMAGE?: string;

  /** Port on which a desktop pod serves the cua computer-server protocol. */
  @Transform(toInt) @IsInt() @Min(1) @Max(65535)
  KUBERNETES_DESKTOP_PORT = 8000;

  /** The rest of the desktop pod (resources, nodeSelector, tolerations, runtimeClassName, securityContext …) as a JSON Pod. */
  @IsOptional() @Transform(trim) @IsString() @MinLength(2)
  KUBERNETES_POD_TEMPLATE?: string;

  /** The same as a file (YAML or JSON), e.g. a mounted ConfigMap. */
  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  KUBERNETES_POD_TEMPLATE_FILE?: string;

  /** How long a desktop may take from create to Ready before it is deleted with an error naming its state. */
  @Transform(toInt) @IsInt() @Min(1000) @Max(3_600_000)
  KUBERNETES_POD_READY_TIMEOUT_MS = 45_000;

  /** gracePeriodSeconds when a desktop pod is deleted. */
  @Transform(toInt) @IsInt() @Min(0) @Max(3600)
  KUBERNETES_POD_DELETE_GRACE_SECONDS = 5;

  /** The release whose desktops these are: pods and claims carry it as a label; start-up reconciliation only touches its own release. */
  @Transform(trim) @Matches(K8S_LABEL_VALUE, { message: 'KUBERNETES_RELEASE must be a label value (letters, digits, - _ ., at most 63)' })
  KUBERNETES_RELEASE = 'cua-mcp-server';

  /** agent-sandbox: the SandboxWarmPool a claim checks out from (v1beta1 claims). */
  @IsOptional() @Transform(trim) @Matches(K8S_DNS_SUBDOMAIN, { message: 'KUBERNETES_SANDBOX_WARM_POOL must be a Kubernetes object name' })
  KUBERNETES_SANDBOX_WARM_POOL?: string;

  /** agent-sandbox: the SandboxTemplate a claim is made from (v1alpha1 claims, served by agent-sandbox before v0.5). */
  @IsOptional() @Transform(trim) @Matches(K8S_DNS_SUBDOMAIN, { message: 'KUBERNETES_SANDBOX_TEMPLATE must be a Kubernetes object name' })
  KUBERNETES_SANDBOX_TEMPLATE?: string;

  /** The server's own pod (downward API), owner of its desktops so the cluster removes them if the server goes. */
  @IsOptional() @Transform(trim) @Matches(K8S_DNS_SUBDOMAIN, { message: 'POD_NAME must be a pod name' })
  POD_NAME?: string;

  @IsOptional() @Transform(trim) @Matches(/^[0-9a-fA-F-]{8,64}$/, { message: 'POD_UID must be a pod UID' })
  POD_UID?: string;

  @IsOptional() @Transform(trim) @Matches(K8S_DNS_LABEL, { message: 'POD_NAMESPACE must be a namespace name' })
  POD_NAMESPACE?: string;

  // --- Pool ---
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  POOL_MAX_SIZE = 5;

  @Transform(toInt) @IsInt() @Min(1) @Max(3_600_000)
  POOL_ACQUIRE_TIMEOUT_MS = 30_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  POOL_CREATE_TIMEOUT_MS = 60_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  POOL_DESTROY_TIMEOUT_MS = 10_000;

  @Transform(toInt) @IsInt() @Min(0) @Max(10_000)
  POOL_MIN_WARM = 1;

  @Transform(toInt) @IsInt() @Min(0) @Max(100_000)
  POOL_MAX_WAITERS = 100;

  @Transform(toInt) @IsInt() @Min(1000) @Max(604_800_000)
  POOL_IDLE_TIMEOUT_MS = 300_000;

  @Transform(toInt) @IsInt() @Min(1000) @Max(604_800_000)
  POOL_MAX_LIFETIME_MS = 3_600_000;

  @Transform(toInt) @IsInt() @Min(10) @Max(60_000)
  POOL_VALIDATE_TIMEOUT_MS = 2_000;

  @Transform(toInt) @IsInt() @Min(1000) @Max(604_800_000)
  POOL_LEASE_WARN_MS = 3_600_000;

  @Transform(toInt) @IsInt() @Min(10) @Max(600_000)
  POOL_RETRY_BASE_MS = 500;

  @Transform(toInt) @IsInt() @Min(10) @Max(3_600_000)
  POOL_RETRY_MAX_MS = 30_000;

  // --- Sessions ---
  @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  MAX_SESSIONS = 10;

  @Transform(toInt) @IsInt() @Min(10) @Max(3_600_000)
  SESSION_SWEEP_INTERVAL_MS = 60_000;

  @Transform(toInt) @IsInt() @Min(1000) @Max(604_800_000)
  SESSION_IDLE_TIMEOUT_MS = 600_000;

  @Transform(toInt) @IsInt() @Min(1000) @Max(604_800_000)
  SESSION_MAX_IDLE_TIMEOUT_MS = 86_400_000;

  // --- Agent ---
  @Transform(trim) @Matches(MODEL_NAME, { message: 'CUA_MODEL_NAME must look like provider/model, e.g. anthropic/claude-sonnet-5-5 or scripted/demo' })
  CUA_MODEL_NAME = DEFAULT_MODEL_NAME;

  /** Comma-separated provider/model names a call may pick with `model`; CUA_MODEL_NAME is always allowed. */
  @Transform(trim) @Matches(/^(\s*[a-z][a-z0-9-]*\/[^\s,]+\s*)(,\s*[a-z][a-z0-9-]*\/[^\s,]+\s*)*$/, {
    message: 'AGENT_ALLOWED_MODELS must be a comma-separated list of provider/model names',
  })
  @IsOptional()
  AGENT_ALLOWED_MODELS?: string;

  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  AGENT_MAX_STEPS = 50;

  @Transform(toInt) @IsInt() @Min(100) @Max(86_400_000)
  AGENT_TASK_TIMEOUT_MS = 900_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  AGENT_MODEL_TIMEOUT_MS = 300_000;

  @Transform(toInt) @IsInt() @Min(0) @Max(20)
  AGENT_MAX_RETRIES = 4;

  @Transform(toInt) @IsInt() @Min(1) @Max(600_000)
  AGENT_RETRY_BASE_MS = 1000;

  @Transform(toInt) @IsInt() @Min(1) @Max(3_600_000)
  AGENT_RETRY_MAX_MS = 30_000;

  @Transform(toInt) @IsInt() @Min(1000) @Max(1_000_000_000)
  AGENT_MAX_TOKENS_PER_TASK = 2_000_000;

  @Transform(toInt) @IsInt() @Min(1) @Max(100)
  CUA_MAX_IMAGES = 3;

  @Transform(toBool) @IsIn([true, false], { message: 'AGENT_ACK_SAFETY_CHECKS must be true or false' })
  AGENT_ACK_SAFETY_CHECKS = false;

  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  ANTHROPIC_API_KEY?: string;

  @Transform(trim) @IsUrl(URL_OPTIONS, { message: 'ANTHROPIC_BASE_URL must be an http(s) URL' })
  ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

  @Transform(trim) @IsIn(['auto', 'computer_toolset_20260801', 'computer_20251124', 'computer_20250124'])
  ANTHROPIC_COMPUTER_TOOL = 'auto';

  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  OPENAI_API_KEY?: string;

  @Transform(trim) @IsUrl(URL_OPTIONS, { message: 'OPENAI_BASE_URL must be an http(s) URL' })
  OPENAI_BASE_URL = 'https://api.openai.com/v1';

  @Transform(trim) @IsIn(['auto', 'computer', 'computer_use_preview'])
  OPENAI_COMPUTER_TOOL = 'auto';

  @IsOptional() @Transform(trim) @IsUrl(URL_OPTIONS, { message: 'OPENAI_COMPATIBLE_BASE_URL must be an http(s) URL, e.g. http://127.0.0.1:11434/v1' })
  OPENAI_COMPATIBLE_BASE_URL?: string;

  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  OPENAI_COMPATIBLE_API_KEY?: string;

  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  TRAJECTORY_DIR?: string;

  @Transform(toInt) @IsInt() @Min(1000) @Max(31_536_000_000)
  TRAJECTORY_MAX_AGE_MS = 604_800_000;

  @Transform(toInt) @IsInt() @Min(1) @Max(100)
  SCRIPTED_MODEL_STEPS = 4;

  @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  SCRIPTED_MODEL_STEP_MS = 0;

  @Transform(toInt) @IsInt() @Min(50) @Max(60_000)
  PROGRESS_HEARTBEAT_MS = 10_000;

  // --- computer-server mode (`node dist/main.js computer-server`) ---
  /** Port of computer-server mode; `--port` overrides. */
  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  COMPUTER_SERVER_PORT = 8000;

  /** The key cua clients must present to computer-server mode (secret); unset: no authentication. */
  @IsOptional() @Transform(trim) @IsString() @MinLength(16, { message: 'COMPUTER_SERVER_API_KEY must be at least 16 characters' })
  COMPUTER_SERVER_API_KEY?: string;

  /** The container name cua clients must present with the key; unset: not checked. */
  @IsOptional() @Transform(trim) @Matches(/^[A-Za-z0-9._-]{1,253}$/, { message: 'COMPUTER_SERVER_CONTAINER_NAME must be letters, digits and . _ - (at most 253)' })
  COMPUTER_SERVER_CONTAINER_NAME?: string;

  /** PEM certificate (chain) file: computer-server mode serves https/wss with it (with COMPUTER_SERVER_TLS_KEY_FILE). */
  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  COMPUTER_SERVER_TLS_CERT_FILE?: string;

  /** PEM private key file of that certificate. */
  @IsOptional() @Transform(trim) @IsString() @MinLength(1)
  COMPUTER_SERVER_TLS_KEY_FILE?: string;

  // --- Shutdown ---
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000)
  SHUTDOWN_GRACE_MS = 30_000;

  @IsOptional() @IsString()
  NODE_ENV?: string;
}
