/**
 * The container image and the Helm chart, checked without docker or helm (neither runs on these
 * machines): the values every install starts from are valid and documented, wrong values are
 * refused before anything reaches a cluster, the templates only read values that exist, the
 * environment they set is made of settings the server knows, the termination grace follows the
 * server's drain, and the Dockerfile keeps its promises. `scripts/helm-check.sh` adds
 * `helm lint` / `helm template` where helm is installed.
 */
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { load } from 'js-yaml';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { desktopLabels, LABEL } from '../src/computer/kubernetes/desktop-labels';
import { visibleSystemPaths } from '../src/computer/xvfb/system-view';
// Importing the app registers every built-in feature's settings.
import '../src/app.module';
import { declaredSettings, settingKeys } from '../src/config/settings';

const SETTINGS = declaredSettings().flatMap(settingKeys);
const SECRET_SETTINGS = new Set(SETTINGS.filter((s) => s.secret).map((s) => s.key));

const ROOT = join(__dirname, '..');
const CHART = join(ROOT, 'helm', 'cua-mcp-server');
const read = (...p: string[]) => readFileSync(join(...p), 'utf8');

type Values = { [key: string]: unknown };
const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's merge of a user values file over values.yaml: maps merge, anything else replaces, null deletes. */
function helmMerge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else {
      const current = out[k];
      out[k] = isObject(v) && isObject(current) ? helmMerge(current, v) : v;
    }
  }
  return out;
}

/** Dotted paths of the leaves of a values tree (an empty map, a list, a scalar or null is a leaf). */
function leafPaths(v: Values, prefix = ''): string[] {
  return Object.entries(v).flatMap(([k, x]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return isObject(x) && Object.keys(x).length ? leafPaths(x, p) : [p];
  });
}

function hasPath(v: Values, path: string): boolean {
  let at: unknown = v;
  for (const seg of path.split('.')) {
    if (!isObject(at) || !(seg in at)) return false;
    at = at[seg];
  }
  return true;
}

function getPath(v: Values, path: string): unknown {
  return path.split('.').reduce<unknown>((at, seg) => (isObject(at) ? at[seg] : undefined), v);
}

/** A deep copy of `base` with `path` set to `value`. */
function withValue(base: Values, path: string, value: unknown): Values {
  const copy = structuredClone(base);
  const segs = path.split('.');
  let at = copy;
  for (const seg of segs.slice(0, -1)) at = at[seg] as Values;
  at[segs[segs.length - 1]] = value;
  return copy;
}

const values = load(read(CHART, 'values.yaml')) as Values;
const schema = JSON.parse(read(CHART, 'values.schema.json')) as object;
const ciFiles = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('-values.yaml')).sort();
const ciValues = ciFiles.map((f) => [f, (load(read(CHART, 'ci', f)) as Values | null) ?? {}] as const);
const templateDir = join(CHART, 'templates');
const templates = readdirSync(templateDir).map((f) => [f, read(templateDir, f)] as const);
const deployment = read(templateDir, 'deployment.yaml');

function compileSchema(): ValidateFunction {
  // allowUnionTypes: nullable numbers are `type: [integer, null]`, as Helm's own validator reads them.
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  return ajv.compile(schema);
}
const describeErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`).join('\n');

describe('Helm chart: values', () => {
  const validate = compileSchema();

  it('values.yaml and every ci/*-values.yaml combination are valid against values.schema.json', () => {
    expect(ciFiles).toEqual(expect.arrayContaining(['default-values.yaml', 'with-ingress-values.yaml', 'existing-secret-values.yaml', 'production-values.yaml', 'oauth-values.yaml']));
    const results = [['values.yaml', values] as const, ...ciValues.map(([f, v]) => [f, helmMerge(values, v)] as const)].map(([f, v]) => {
      const ok = validate(v);
      return `${f}: ${ok ? 'valid' : describeErrors(validate.errors)}`;
    });
    expect(results).toEqual([`values.yaml: valid`, ...ciFiles.map((f) => `${f}: valid`)]);
  });

  // Each wrong value must be refused, and for the reason given (the path and the rule), so a
  // schema that refuses everything, or refuses for another reason, fails here.
  const wrong: Array<[string, string, unknown, string, string]> = [
    ['a negative replica count', 'replicaCount', -1, '/replicaCount', 'minimum'],
    ['a replica count as a string', 'replicaCount', '2', '/replicaCount', 'type'],
    ['an unknown top-level key (a typo of replicaCount)', 'replicas', 2, '', 'additionalProperties'],
    ['an unknown pool setting (wrong case)', 'config.pool.maxsize', 5, '/config/pool', 'additionalProperties'],
    ['a pool of zero desktops', 'config.pool.maxSize', 0, '/config/pool/maxSize', 'minimum'],
    ['a boolean where the server wants on/off', 'config.computer.network', false, '/config/computer/network', 'type'],
    ['a log level the server does not have', 'config.logLevel', 'verbose', '/config/logLevel', 'enum'],
    ['a model without its provider', 'config.agent.model', 'claude-sonnet-5-5', '/config/agent/model', 'pattern'],
    ['a short API key', 'auth.apiKeys', [{ key: 'short', principal: 'alice' }], '/auth/apiKeys/0/key', 'minLength'],
    ['a principal with a space', 'auth.apiKeys', [{ key: 'a-long-enough-key-0123456789', principal: 'alice smith' }], '/auth/apiKeys/0/principal', 'pattern'],
    ['an API key entry without principal', 'auth.apiKeys', [{ key: 'a-long-enough-key-0123456789' }], '/auth/apiKeys/0', 'required'],
    ['a metrics token under 16 characters', 'metrics.token', 'tooshort', '/metrics/token', 'pattern'],
    ['a base URL without scheme', 'models.openaiCompatible.baseUrl', 'vllm:8000/v1', '/models/openaiCompatible/baseUrl', 'pattern'],
    ['an image digest that is a tag', 'image.digest', 'latest', '/image/digest', 'pattern'],
    ['a Service type Kubernetes does not have', 'service.type', 'Ingress', '/service/type', 'enum'],
    ['a node port outside the node-port range', 'service.nodePort', 80, '/service/nodePort', 'minimum'],
    ['an enabled ingress without hosts', 'ingress', { enabled: true, className: '', annotations: {}, hosts: [], tls: [] }, '/ingress/hosts', 'minItems'],
    ['a Localhost seccomp profile without its file', 'desktopSandbox.seccompProfile', { type: 'Localhost' }, '/desktopSandbox/seccompProfile', 'required'],
    ['an env entry without name', 'extraEnv', [{ value: '6' }], '/extraEnv/0', 'required'],
    ['a negative termination grace', 'terminationGracePeriodSeconds', -5, '/terminationGracePeriodSeconds', 'minimum'],
    ['a tmp size that is not a quantity', 'tmp.sizeLimit', '4 GB', '/tmp/sizeLimit', 'pattern'],
    ['a probe port of 0', 'containerPorts.probes', 0, '/containerPorts/probes', 'minimum'],
    ['a header timeout of 10 ms', 'config.http.headersTimeoutMs', 10, '/config/http/headersTimeoutMs', 'minimum'],
    ['an OAuth issuer over plain http', 'oauth.issuer', 'http://login.example.com', '/oauth/issuer', 'pattern'],
    ['OAuth on without an issuer', 'oauth.enabled', true, '/oauth/issuer', 'minLength'],
    ['a required scope with a space', 'oauth.requiredScopes', ['computers use'], '/oauth/requiredScopes/0', 'pattern'],
    ['tracing on without an endpoint', 'tracing.enabled', true, '/tracing/endpoint', 'minLength'],
    ['a tracing endpoint without scheme', 'tracing.endpoint', 'otel-collector:4318', '/tracing/endpoint', 'pattern'],
    ['a sampler the SDK does not have', 'tracing.sampler', 'jaeger_remote', '/tracing/sampler', 'enum'],
    ['a sampler ratio above 1', 'tracing.samplerRatio', '1.5', '/tracing/samplerRatio', 'pattern'],
    ['a sampler ratio as a number (Helm would print it as a float)', 'tracing.samplerRatio', 0.5, '/tracing/samplerRatio', 'type'],
    ['tracing headers written as a header line', 'tracing.headers', 'Authorization: Bearer x', '/tracing/headers', 'pattern'],
    ['a resource attribute with a comma in its value', 'tracing.resourceAttributes', { team: 'a,b' }, '/tracing/resourceAttributes/team', 'pattern'],
  ];
  it.each(wrong)('refuses %s', (_what, path, value, instancePath, keyword) => {
    const ok = validate(withValue(values, path, value));
    expect(ok).toBe(false);
    expect((validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`)).toContain(`${instancePath} ${keyword}`);
  });

  it('documents every value with a `## @param` line, and documents no value that does not exist', () => {
    const params = [...read(CHART, 'values.yaml').matchAll(/^\s*## @param (\S+)(.*)$/gm)].map((m) => ({ path: m[1], text: m[2].trim() }));
    const documented = new Set(params.map((p) => p.path));
    const undocumented = leafPaths(values).filter((leaf) => {
      const segs = leaf.split('.');
      return !segs.some((_, i) => documented.has(segs.slice(0, i + 1).join('.')));
    });
    expect(undocumented).toEqual([]);
    expect(params.filter((p) => !hasPath(values, p.path)).map((p) => p.path)).toEqual([]);
    expect(params.filter((p) => p.text.length < 10).map((p) => p.path)).toEqual([]);
  });
});

describe('Helm chart: templates', () => {
  const used = new Set(templates.flatMap(([, text]) => [...text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => m[1].slice(1))));

  it('reads only values that exist in values.yaml', () => {
    expect(used.size).toBeGreaterThan(40);
    expect([...used].filter((p) => !hasPath(values, p)).sort()).toEqual([]);
  });

  it('uses every value in values.yaml (none is dead), except the key kept for the Kubernetes provider', () => {
    const reserved = ['kubernetes'];
    const dead = leafPaths(values).filter((leaf) => {
      if (reserved.includes(leaf.split('.')[0])) return false;
      return ![...used].some((u) => leaf === u || leaf.startsWith(`${u}.`) || u.startsWith(`${leaf}.`));
    });
    expect(dead).toEqual([]);
  });

  it('has the objects a platform needs: Deployment, Service, Secret, ServiceAccount, optional Ingress, PDB, HPA, ServiceMonitor, and NOTES', () => {
    const kinds = templates.flatMap(([, text]) => [...text.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1])).sort();
    expect(kinds).toEqual(['Deployment', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'NetworkPolicy', 'NetworkPolicy', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Secret', 'Service', 'Service', 'ServiceAccount', 'ServiceMonitor']);
    expect(templates.map(([f]) => f)).toContain('NOTES.txt');
    // Prometheus scrapes the probe port, which a flood of the main port does not reach.
    expect(read(templateDir, 'servicemonitor.yaml')).toMatch(/endpoints:\n\s+- port: probes\n\s+path: \/metrics\n/);
    for (const [file, flag] of [['ingress.yaml', 'ingress.enabled'], ['hpa.yaml', 'autoscaling.enabled'], ['servicemonitor.yaml', 'metrics.serviceMonitor.enabled'], ['pdb.yaml', 'podDisruptionBudget.enabled'], ['redis.yaml', 'cluster.redis.enabled']]) {
      expect(read(templateDir, file).split('\n')[0]).toBe(`{{- if .Values.${flag} }}`);
      expect(getPath(values, flag)).toEqual(expect.any(Boolean));
    }
  });

  it('can run one small Redis to try replicas out: off by default, password generated into the Secret and kept, reachable only from the server\'s pods, REDIS_URL pointed at it', () => {
    expect(getPath(values, 'cluster.redis.enabled')).toBe(false);
    const redis = read(templateDir, 'redis.yaml');
    // No persistence, the password from the Secret, never in the manifest.
    expect(redis).toMatch(/args: \["--save", "", "--appendonly", "no", "--requirepass", "\$\(REDIS_PASSWORD\)"\]/);
    expect(redis).toMatch(/name: REDIS_PASSWORD\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: \{\{ include "cua-mcp-server.secretName" \. \}\}\n\s+key: redis-password/);
    expect(redis).toMatch(/runAsNonRoot: true/);
    expect(redis).toMatch(/readOnlyRootFilesystem: true/);
    // Its Service and the server's select different pods; only the server's pods may reach it.
    expect(redis).toMatch(/kind: NetworkPolicy[\s\S]*ingress:\n\s+- from:\n\s+- podSelector:\n\s+matchLabels:\n\s+\{\{- include "cua-mcp-server.selectorLabels" \. \| nindent 14 \}\}/);
    expect(read(templateDir, '_helpers.tpl')).toMatch(/define "cua-mcp-server.redisLabels"[\s\S]*app.kubernetes.io\/component: redis/);
    const secret = read(templateDir, 'secret.yaml');
    expect(secret).toMatch(/redis-password: \{\{ \$password \| b64enc \| quote \}\}/);
    expect(secret).toMatch(/printf "redis:\/\/:%s@%s-redis:6379\/0" \$password/);
    // The password survives upgrades: the one already in the release's Secret is reused.
    expect(read(templateDir, '_helpers.tpl')).toMatch(/lookup "v1" "Secret" \.Release\.Namespace[\s\S]*randAlphaNum 40/);
    const deployment = read(templateDir, 'deployment.yaml');
    expect(deployment).toMatch(/secretEnv" \(list \. "REDIS_URL" \.Values\.secretKeys\.redisUrl \(or \.Values\.cluster\.redisUrl \.Values\.cluster\.redis\.enabled\)\)/);
    expect(deployment).toMatch(/fail "cluster.redis.enabled keeps its password in the chart's Secret: it cannot be used with existingSecret/);
  });

  it('probes /health/live for startup and liveness and /health/ready for readiness on the probe port, and sleeps in preStop before SIGTERM', () => {
    const probe = (name: string) => new RegExp(`${name}:\\n\\s+httpGet:\\n\\s+path: ([^\\n]+)\\n\\s+port: ([^\\n]+)`).exec(deployment)?.slice(1);
    expect([probe('startupProbe'), probe('livenessProbe'), probe('readinessProbe')]).toEqual([
      ['/health/live', 'probes'],
      ['/health/live', 'probes'],
      ['/health/ready', 'probes'],
    ]);
    // The probe port is the server's PROBE_PORT, a named container port, and a port of the Service.
    expect(deployment).toMatch(/- name: probes\n\s+containerPort: \{\{ \.Values\.containerPorts\.probes \}\}/);
    expect(deployment).toMatch(/- name: PROBE_PORT\n\s+value: \{\{ \.Values\.containerPorts\.probes \| int64 \| quote \}\}/);
    expect(read(templateDir, 'service.yaml')).toMatch(/- name: probes\n\s+port: \{\{ \.Values\.containerPorts\.probes \}\}\n\s+targetPort: probes/);
    expect(getPath(values, 'containerPorts.probes')).not.toBe(getPath(values, 'containerPorts.http'));
    expect(deployment).toMatch(/preStop:\n\s+exec:\n\s+command: \["\/bin\/sleep", "\{\{ \.Values\.preStopSleepSeconds \}\}"\]/);
    expect(deployment).toContain('terminationGracePeriodSeconds: {{ include "cua-mcp-server.terminationGracePeriodSeconds" . }}');
  });

  it('runs the server non-root, without privilege escalation, on a read-only root with /tmp as a volume', () => {
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001 });
    expect(values.containerSecurityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } });
    expect(deployment).toMatch(/- name: tmp\n\s+mountPath: \/tmp\n/);
    expect(deployment).toMatch(/- name: tmp\n\s+emptyDir:/);
    // The Dockerfile's user is the one the chart runs as.
    expect(dockerfile().user).toBe('10001:10001');
  });

  it('mounts the API keys file from a Secret as a directory (not subPath), so the server sees key rotations', () => {
    expect(deployment).toMatch(/- name: API_KEYS_FILE\n\s+value: \/run\/secrets\/cua-mcp\/api-keys/);
    expect(deployment).toMatch(/- name: api-keys\n\s+mountPath: \/run\/secrets\/cua-mcp\n\s+readOnly: true/);
    expect(deployment).not.toMatch(/^\s+subPath:/m);
  });

  it('mounts no volume where a desktop sandbox could see it (the keys file was readable from inside once)', () => {
    const visible = visibleSystemPaths();
    const mounts = [...deployment.matchAll(/mountPath: (\S+)/g)].map((m) => m[1]);
    expect(mounts).toContain('/run/secrets/cua-mcp');
    for (const mount of mounts.filter((m) => m !== '/tmp')) {
      for (const path of visible) expect(mount === path || mount.startsWith(`${path}/`) || path.startsWith(`${mount}/`)).toBe(false);
    }
  });

  it('gives the pod no API token unless the provider calls the Kubernetes API', () => {
    expect(getPath(values, 'serviceAccount.automountServiceAccountToken')).toBe(false);
    expect(read(templateDir, '_helpers.tpl')).toContain('{{- or .Values.serviceAccount.automountServiceAccountToken (eq .Values.config.computer.provider "kubernetes") }}');
    expect(deployment).toContain('automountServiceAccountToken: {{ include "cua-mcp-server.automountToken" . }}');
    expect(read(templateDir, 'serviceaccount.yaml')).toContain('automountServiceAccountToken: {{ include "cua-mcp-server.automountToken" . }}');
  });
});

describe('Helm chart: desktops as pods (COMPUTER_PROVIDER=kubernetes)', () => {
  const rbac = read(templateDir, 'desktops-rbac.yaml');
  const policy = read(templateDir, 'desktops-networkpolicy.yaml');

  it('grants the server pods (and claims, for agent-sandbox) in the desktop namespace only, with no wildcard', () => {
    expect(rbac.split('\n')[0]).toBe('{{- if eq .Values.config.computer.provider "kubernetes" }}');
    expect(rbac).toMatch(/kind: Role\n/);
    expect(rbac).not.toMatch(/ClusterRole/);
    expect(rbac).not.toContain('"*"');
    const rules = [...rbac.matchAll(/resources: \[([^\]]*)\]\n\s+verbs: \[([^\]]*)\]/g)].map((m) => [m[1], m[2]]);
    const verbs = '"create", "get", "list", "watch", "delete"';
    expect(rules).toEqual([['"pods"', verbs], ['"sandboxclaims"', verbs], ['"deployments"', '"get"']]);
    expect(rbac).toContain('{{- if ne .Values.kubernetes.backend "pods" }}');
    expect(rbac.match(/namespace: \{\{ include "cua-mcp-server.desktopNamespace" \. \}\}/g)).toHaveLength(2);
  });

  it('lets the server read its own Deployment only (the owner of its desktops with Redis), and only where desktops can name it as owner', () => {
    // Only that one Deployment, by name, and only when the desktops live in the release's namespace (owner
    // references cannot cross namespaces, so the server does not look it up otherwise).
    expect(rbac).toMatch(
      /\{\{- if eq \(include "cua-mcp-server\.desktopNamespace" \.\) \.Release\.Namespace \}\}\n\s+- apiGroups: \["apps"\]\n\s+resources: \["deployments"\]\n\s+verbs: \["get"\]\n\s+resourceNames: \[\{\{ include "cua-mcp-server\.fullname" \. \| quote \}\}\]\n\s+\{\{- end \}\}/,
    );
    // The server is told the name the Deployment has.
    expect(deployment).toMatch(/^kind: Deployment\nmetadata:\n\s+name: \{\{ include "cua-mcp-server\.fullname" \. \}\}\n/m);
    expect(deployment).toMatch(/- name: KUBERNETES_OWNER_DEPLOYMENT\n\s+value: \{\{ include "cua-mcp-server\.fullname" \. \| quote \}\}/);
  });

  it("lets only the server's pods reach the desktops, on the desktop port; it selects the labels the provider puts on them", () => {
    // The labels src/computer/kubernetes/desktop-labels.ts gives every desktop pod.
    const ours = desktopLabels({ release: 'RELEASE', server: 'srv' });
    const selected = /podSelector:\n\s+matchLabels:\n((?:\s+\S+: .+\n)+)\s+policyTypes/.exec(policy)![1];
    const pairs = Object.fromEntries(selected.trim().split('\n').map((l) => l.trim().split(': ')));
    expect(pairs).toEqual({
      [LABEL.managedBy]: ours[LABEL.managedBy],
      [LABEL.component]: ours[LABEL.component],
      [LABEL.instance]: '{{ .Release.Name }}',
    });
    expect(policy).toContain('policyTypes: ["Ingress"]');
    expect(policy).toMatch(/from:\n\s+- podSelector:\n\s+matchLabels:\n\s+\{\{- include "cua-mcp-server.selectorLabels" \. \| nindent 14 \}\}/);
    expect(policy).toContain('port: {{ .Values.kubernetes.desktopPort }}');
    expect(getPath(values, 'kubernetes.desktopPort')).toBe(8000);
    // The provider labels desktops with KUBERNETES_RELEASE as the instance: the chart sets it to the release name.
    expect(deployment).toMatch(/- name: KUBERNETES_RELEASE\n\s+value: \{\{ \.Release\.Name \| quote \}\}/);
  });
});

describe('Helm chart: environment', () => {
  const known = new Set(SETTINGS.map((s) => s.key));
  const literal = [...deployment.matchAll(/^\s+- name: ([A-Z][A-Z0-9_]*)$/gm)].map((m) => m[1]);
  const fromSecret = [...deployment.matchAll(/secretEnv" \(list \. "([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]);
  const extra = [values, ...ciValues.map(([, v]) => v)].flatMap((v) => ((v.extraEnv as Array<{ name: string }> | undefined) ?? []).map((e) => e.name));

  it('sets only settings the server knows (keys some feature declares)', () => {
    expect(known.size).toBeGreaterThan(50);
    const all = [...new Set([...literal, ...fromSecret, ...extra])];
    expect(all.length).toBeGreaterThan(30);
    expect(all.filter((name) => !known.has(name)).sort()).toEqual([]);
    expect(all).toEqual(expect.arrayContaining(['API_KEYS_FILE', 'CUA_MODEL_NAME', 'POOL_MAX_SIZE', 'MAX_SESSIONS', 'LOG_FORMAT', 'METRICS_TOKEN', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'OPENAI_COMPATIBLE_API_KEY', 'SHUTDOWN_GRACE_MS']));
  });

  it('sets each setting named in a `## @param` line', () => {
    const named = [...read(CHART, 'values.yaml').matchAll(/^\s*## @param \S+ .*\(([A-Z][A-Z0-9_]+)\)/gm)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(25);
    const set = new Set([...literal, ...fromSecret]);
    expect(named.filter((n) => !set.has(n))).toEqual([]);
  });

  // Helm reads numbers in values as floats and prints 2000000 as "2e+06", which the server refuses:
  // every number that becomes a setting goes through int64 first.
  it('renders numeric settings through int64, so large numbers are not printed in exponent form', () => {
    const templated = [...deployment.matchAll(/value: \{\{ \.Values\.([\w.]+) ((?:\| \w+ )*)\}\}/g)].map((m) => ({ path: m[1], pipe: m[2].trim() }));
    // A null default is a number that is left unset (the template skips it then).
    const numeric = templated.filter((t) => typeof getPath(values, t.path) === 'number' || getPath(values, t.path) === null);
    expect(numeric.length).toBeGreaterThanOrEqual(15);
    expect(numeric.filter((t) => t.pipe !== '| int64 | quote').map((t) => t.path)).toEqual([]);
    expect(templated.filter((t) => !/\| quote$/.test(t.pipe)).map((t) => t.path)).toEqual([]);
  });

  it('passes secrets only by reference to the Secret, never as literal values in the pod spec', () => {
    const secretsSet = [...literal, ...fromSecret].filter((n) => SECRET_SETTINGS.has(n));
    expect(secretsSet.sort()).toEqual(['ANTHROPIC_API_KEY', 'CLUSTER_SECRET', 'GEMINI_API_KEY', 'METRICS_TOKEN', 'OPENAI_API_KEY', 'OPENAI_COMPATIBLE_API_KEY', 'OTEL_EXPORTER_OTLP_HEADERS', 'REDIS_URL']);
    expect(literal.filter((n) => SECRET_SETTINGS.has(n))).toEqual([]);
    expect(read(templateDir, '_helpers.tpl')).toMatch(/- name: \{\{ \$name \}\}\n\s+valueFrom:\n\s+secretKeyRef:/);
  });

  it('sets tracing only when it is on, after the downward API variables its resource attributes name, and its ratio only for a ratio sampler', () => {
    // From the switch to the entries that follow tracing's (extraEnv).
    const block = /\{\{- if \.Values\.tracing\.enabled \}\}\n([\s\S]*?)\n {12}\{\{- end \}\}\n {12}\{\{- with \.Values\.extraEnv \}\}/.exec(deployment)?.[1] ?? '';
    const names = [...block.matchAll(/- name: ([A-Z_]+)|secretEnv" \(list \. "([A-Z_]+)"/g)].map((m) => m[1] ?? m[2]);
    expect(names).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'TRACING_SHUTDOWN_TIMEOUT_MS', 'OTEL_EXPORTER_OTLP_HEADERS']);
    expect(deployment.split('\n').filter((l) => /OTEL_|TRACING_/.test(l)).length).toBe(names.length);
    expect(block).toMatch(/\{\{- if hasSuffix "traceidratio" \.Values\.tracing\.sampler \}\}\n\s+- name: OTEL_TRACES_SAMPLER_ARG\n/);
    // Kubernetes expands $(VAR) only for variables defined earlier in the list.
    const at = (name: string) => deployment.indexOf(`- name: ${name}\n`);
    for (const name of ['POD_NAME', 'POD_UID', 'POD_NAMESPACE']) expect(at(name)).toBeLessThan(at('OTEL_RESOURCE_ATTRIBUTES'));
    expect(read(templateDir, '_helpers.tpl')).toContain('list "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.pod.name=$(POD_NAME)" "k8s.pod.uid=$(POD_UID)"');
  });

  it('exposes the pod name, uid and namespace through the downward API', () => {
    for (const [name, field] of [['POD_NAME', 'metadata.name'], ['POD_UID', 'metadata.uid'], ['POD_NAMESPACE', 'metadata.namespace']]) {
      expect(deployment).toMatch(new RegExp(`- name: ${name}\\n\\s+valueFrom:\\n\\s+fieldRef:\\n\\s+fieldPath: ${field.replace('.', '\\.')}\\n`));
    }
  });
});

describe('Helm chart: termination grace', () => {
  const helper = read(templateDir, '_helpers.tpl');
  /** The server's own waits during shutdown, read from its source. */
  const abortSettleMs = Number(/const ABORT_SETTLE_MS = ([\d_]+);/.exec(read(ROOT, 'src/mcp/shutdown.coordinator.ts'))![1].replace(/_/g, ''));
  const taskSettleMs = Number(/const TASK_SETTLE_MS = ([\d_]+);/.exec(read(ROOT, 'src/session/session.service.ts'))![1].replace(/_/g, ''));

  it("derives the grace from the preStop sleep and the server's drain (grace, abort settle, task settle, two destroy rounds, the spans' flush with tracing on)", () => {
    const m = /add \.Values\.config\.shutdownGraceMs (\d+) (\d+) \(mul 2 \.Values\.config\.pool\.destroyTimeoutMs\) \(ternary \.Values\.tracing\.shutdownTimeoutMs 0 \.Values\.tracing\.enabled\)/.exec(helper);
    expect(m).not.toBeNull();
    expect([Number(m![1]), Number(m![2])]).toEqual([abortSettleMs, taskSettleMs]);
    expect(helper).toContain('add .Values.preStopSleepSeconds (div (add $drainMs 999) 1000) .Values.terminationGraceMarginSeconds');
  });

  it('documents the figure the defaults give, and it leaves the drain its full time', () => {
    const v = values as { preStopSleepSeconds: number; terminationGraceMarginSeconds: number; config: { shutdownGraceMs: number; pool: { destroyTimeoutMs: number } } };
    const drainMs = v.config.shutdownGraceMs + abortSettleMs + taskSettleMs + 2 * v.config.pool.destroyTimeoutMs;
    const seconds = v.preStopSleepSeconds + Math.ceil(drainMs / 1000) + v.terminationGraceMarginSeconds;
    expect(read(CHART, 'values.yaml')).toContain(`(${seconds} s with the defaults)`);
    expect(seconds * 1000).toBeGreaterThan(v.preStopSleepSeconds * 1000 + v.config.shutdownGraceMs);
  });
});

describe('Helm chart: Chart.yaml', () => {
  it('is apiVersion v2 with the chart directory as name, a SemVer version and the server version as appVersion', () => {
    const chart = load(read(CHART, 'Chart.yaml')) as Values;
    const pkg = JSON.parse(read(ROOT, 'package.json')) as { version: string };
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('cua-mcp-server');
    expect(chart.type).toBe('application');
    expect(chart.version).toMatch(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/);
    expect(chart.appVersion).toBe(pkg.version);
  });
});

/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function dockerfile() {
  const text = read(ROOT, 'Dockerfile').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Array<{ from: string; name?: string; instructions: Array<[string, string]> }> = [];
  for (const line of lines) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line)!;
    const OP = op.toUpperCase();
    if (OP === 'ARG' && !stages.length) {
      const [k, v] = rest.split('=');
      args.set(k, v ?? '');
    } else if (OP === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      stages.push({ from: m[1].replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? ''), name: m[2], instructions: [] });
    } else stages[stages.length - 1].instructions.push([OP, rest]);
  }
  const final = stages[stages.length - 1];
  const get = (op: string) => final.instructions.filter(([o]) => o === op).map(([, r]) => r);
  return { stages, final, get, user: get('USER').at(-1) };
}

describe('Dockerfile', () => {
  const df = dockerfile();
  const run = (stage: (typeof df.stages)[number]) => stage.instructions.filter(([o]) => o === 'RUN').map(([, r]) => r).join('\n');

  it('builds in stages and ships production dependencies only, on node:20-bookworm-slim', () => {
    expect(df.stages.length).toBeGreaterThanOrEqual(3);
    expect(df.final.from).toBe('node:20-bookworm-slim');
    const build = df.stages.find((s) => /npm run build/.test(run(s)));
    const prod = df.stages.find((s) => /npm ci --omit=dev/.test(run(s)));
    expect(build).toBeDefined();
    expect(prod).toBeDefined();
    expect(prod).not.toBe(build);
    const copies = df.get('COPY');
    expect(copies).toContain(`--from=${prod!.name} /app/node_modules ./node_modules`);
    expect(copies).toContain(`--from=${build!.name} /app/dist ./dist`);
    // The runtime neither installs nor compiles anything of the project itself.
    expect(run(df.final)).not.toMatch(/npm (ci|install|run)/);
    expect(copies.filter((c) => /\bsrc\b/.test(c))).toEqual([]);
  });

  it("needs nothing at run time beyond production dependencies: the server's code imports no devDependency", () => {
    const pkg = JSON.parse(read(ROOT, 'package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.spec.ts')) files.push(p);
      }
    };
    walk(join(ROOT, 'src'));
    // Module specifiers of `from '…'`, `import '…'`, `import('…')` and a bare `require('…')` (not `x.require(…)`).
    const packages = files.flatMap((f) =>
      [...read(f).matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*|(?<![.\w])require\(\s*)['"]([^'".][^'"]*)['"]/g)]
        .map((m) => m[1])
        .filter((spec) => !spec.startsWith('node:'))
        .map((spec) => ({ file: f.slice(ROOT.length + 1), name: spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] })),
    );
    expect(packages.length).toBeGreaterThan(20);
    expect(packages.filter((p) => !(p.name in pkg.dependencies)).map((p) => `${p.name} in ${p.file}${p.name in pkg.devDependencies ? ' (a devDependency)' : ''}`)).toEqual([]);
  });

  it('installs the desktop packages of scripts/setup.sh and tini', () => {
    const packages = /PACKAGES=\(([^)]*)\)/.exec(read(ROOT, 'scripts/setup.sh'))![1].trim().split(/\s+/);
    const installed = /apt-get install[^&]*/.exec(run(df.final))![0].split(/\s+/);
    expect(packages.length).toBeGreaterThanOrEqual(9);
    expect(packages.filter((p) => !installed.includes(p))).toEqual([]);
    expect(installed).toContain('tini');
  });

  it('runs as a numeric non-root user, with tini as PID 1 and node in exec form', () => {
    expect(df.user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(run(df.final)).toContain(`useradd --uid ${df.user!.split(':')[0]}`);
    expect(JSON.parse(df.get('ENTRYPOINT').at(-1)!)).toEqual(['/usr/bin/tini', '--']);
    expect(JSON.parse(df.get('CMD').at(-1)!)).toEqual(['node', 'dist/main.js']);
  });

  it('exposes the port the chart and the server use, and health-checks /health/live', () => {
    const port = (values.containerPorts as { http: number }).http;
    expect(df.get('EXPOSE')).toEqual([String(port)]);
    expect(df.get('ENV').join(' ')).toMatch(new RegExp(`PORT=${port}\\b`));
    const hc = df.get('HEALTHCHECK').at(-1)!;
    const exec = /CMD (\[.*\])$/.exec(hc);
    expect(exec).not.toBeNull();
    expect(JSON.parse(exec![1]).join(' ')).toContain('/health/live');
  });

  it('keeps dependencies, build output, git and local secrets out of the build context, but not what the build copies', () => {
    const ignored = read(ROOT, '.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', '.env']));
    const copied = df.stages.flatMap((s) => s.instructions.filter(([o, r]) => o === 'COPY' && !r.startsWith('--from')).flatMap(([, r]) => r.split(/\s+/).slice(0, -1)));
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src']));
    expect(copied.filter((c) => ignored.includes(c) || !existsSync(join(ROOT, c)))).toEqual([]);
  });
});

describe('scripts/helm-check.sh', () => {
  const script = join(ROOT, 'scripts', 'helm-check.sh');
  let bin: string;
  beforeEach(() => (bin = mkdtempSync(join(tmpdir(), 'helm-check-'))));
  afterEach(() => rmSync(bin, { recursive: true, force: true }));

  /** A stand-in `helm` that records its arguments and fails when they mention `failOn`. */
  function fakeHelm(failOn?: string) {
    const helm = join(bin, 'helm');
    writeFileSync(
      helm,
      `#!/bin/sh\n[ "$1 $2" = "lint --help" ] && { echo "  --kube-version string"; exit 0; }\necho "$*" >> "${bin}/calls"\n` +
        (failOn ? `case "$*" in *${failOn}*) echo "rendering failed" >&2; exit 1;; esac\n` : '') +
        'exit 0\n',
    );
    chmodSync(helm, 0o755);
  }
  const runScript = () => spawnSync('bash', [script], { cwd: ROOT, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });

  it('is executable, and exits 0 with a message where helm is not installed', () => {
    expect(statSync(script).mode & 0o111).not.toBe(0);
    const r = runScript();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('helm is not installed');
  });

  it('runs helm lint --strict and helm template once per ci/*-values.yaml', () => {
    fakeHelm();
    const r = runScript();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const calls = read(bin, 'calls').trim().split('\n');
    expect(calls).toHaveLength(2 * ciFiles.length);
    for (const f of ciFiles) {
      expect(calls).toContain(`lint --strict --kube-version 1.33.0 helm/cua-mcp-server -f helm/cua-mcp-server/ci/${f}`);
      expect(calls).toContain(`template ci-${f.replace('-values.yaml', '')} helm/cua-mcp-server -f helm/cua-mcp-server/ci/${f} --namespace ci --kube-version 1.33.0`);
    }
  });

  it('fails, naming the values file and showing helm output, when one combination does not render', () => {
    fakeHelm('production-values.yaml');
    const r = runScript();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('FAIL helm/cua-mcp-server with helm/cua-mcp-server/ci/production-values.yaml');
    expect(r.stderr).toContain('rendering failed');
    expect(r.stdout).toContain('ok   helm/cua-mcp-server with helm/cua-mcp-server/ci/default-values.yaml');
  });
});
