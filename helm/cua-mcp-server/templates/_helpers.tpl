{{/* Chart name, at most 63 characters. */}}
{{- define "cua-mcp-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's resources: release-chart, or the release name when it already holds the chart name. */}}
{{- define "cua-mcp-server.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "cua-mcp-server.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "cua-mcp-server.labels" -}}
helm.sh/chart: {{ include "cua-mcp-server.chart" . }}
{{ include "cua-mcp-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels that select the server's pods. The component label keeps other pods of the release (a
desktop provider's pods, for instance) out of the Service and the PodDisruptionBudget.
*/}}
{{- define "cua-mcp-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cua-mcp-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/* Name of the ServiceAccount. */}}
{{- define "cua-mcp-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cua-mcp-server.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Whether the pod gets an API token: when asked, or when the computer provider calls the Kubernetes API. */}}
{{- define "cua-mcp-server.automountToken" -}}
{{- or .Values.serviceAccount.automountServiceAccountToken (eq .Values.config.computer.provider "kubernetes") }}
{{- end }}

{{/* The image reference: registry/repository:tag, or @digest when one is given. */}}
{{- define "cua-mcp-server.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding API keys, model keys and the metrics token. */}}
{{- define "cua-mcp-server.secretName" -}}
{{- default (include "cua-mcp-server.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* Whether the desktops run under bubblewrap in this pod, with what that needs. */}}
{{- define "cua-mcp-server.desktopSandbox" -}}
{{- and .Values.desktopSandbox.enabled (eq .Values.config.computer.provider "xvfb") }}
{{- end }}

{{/*
The API keys file (`key:principal` lines). Given keys win; otherwise the key generated at install
is read back from the release's Secret, so an upgrade keeps it; otherwise a new one is generated.
*/}}
{{- define "cua-mcp-server.apiKeysFile" -}}
{{- if .Values.auth.apiKeys }}
{{- $lines := list }}
{{- range .Values.auth.apiKeys }}
{{- $lines = append $lines (printf "%s:%s" .key .principal) }}
{{- end }}
{{- printf "%s\n" (join "\n" $lines) }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "cua-mcp-server.fullname" .) }}
{{- $kept := "" }}
{{- if and $existing $existing.data }}
{{- $kept = index $existing.data .Values.secretKeys.apiKeys | default "" | b64dec }}
{{- end }}
{{- if $kept }}
{{- $kept }}
{{- else }}
{{- printf "%s:%s\n" (randAlphaNum 48) .Values.auth.generatedPrincipal }}
{{- end }}
{{- end }}
{{- end }}

{{/* Whether the chart generates the API key (no keys given, no existing Secret). */}}
{{- define "cua-mcp-server.generatedKey" -}}
{{- and .Values.auth.enabled (not .Values.auth.apiKeys) (not .Values.existingSecret) }}
{{- end }}

{{/*
Seconds from deletion to SIGKILL. Unless set, derived from the drain settings: the preStop sleep,
then the shutdown the server runs on SIGTERM (src/mcp/shutdown.coordinator.ts):
  SHUTDOWN_GRACE_MS        running calls finish
  + 3000 ms                calls still running are aborted and send their error results
  + 5000 ms                the aborted tasks let go of their desktops (session end)
  + POOL_DESTROY_TIMEOUT_MS  the sessions' desktops are destroyed, all at once
  + POOL_DESTROY_TIMEOUT_MS  the pool's stock is destroyed, all at once
  + TRACING_SHUTDOWN_TIMEOUT_MS  with tracing on, the spans still waiting are sent
rounded up to seconds, plus a margin.
*/}}
{{- define "cua-mcp-server.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- $drainMs := add .Values.config.shutdownGraceMs 3000 5000 (mul 2 .Values.config.pool.destroyTimeoutMs) (ternary .Values.tracing.shutdownTimeoutMs 0 .Values.tracing.enabled) }}
{{- add .Values.preStopSleepSeconds (div (add $drainMs 999) 1000) .Values.terminationGraceMarginSeconds }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds | int64 }}
{{- end }}
{{- end }}

{{/* A model key or the metrics token from the Secret: always optional with an existing Secret, only when given otherwise. */}}
{{- define "cua-mcp-server.secretEnv" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $key := index . 2 }}
{{- $value := index . 3 }}
{{- if or $root.Values.existingSecret $value -}}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "cua-mcp-server.secretName" $root }}
      key: {{ $key }}
      {{- if $root.Values.existingSecret }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}

{{/* Namespace of the Kubernetes provider's desktops: kubernetes.namespace, else the release's. */}}
{{- define "cua-mcp-server.desktopNamespace" -}}
{{- default .Release.Namespace .Values.kubernetes.namespace }}
{{- end }}

{{/*
OTEL_RESOURCE_ATTRIBUTES: the pod's namespace, name and uid (from the downward API variables set before it), then
tracing.resourceAttributes (which may replace them).
*/}}
{{- define "cua-mcp-server.resourceAttributes" -}}
{{- $pairs := list "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.pod.name=$(POD_NAME)" "k8s.pod.uid=$(POD_UID)" }}
{{- range $k, $v := .Values.tracing.resourceAttributes }}
{{- $pairs = append $pairs (printf "%s=%v" $k $v) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/* The chart's own Redis password: the one already in the release's Secret, else a new random one. */}}
{{- define "cua-mcp-server.redisPassword" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "cua-mcp-server.fullname" .) }}
{{- if and $existing (index ($existing.data | default dict) "redis-password") }}
{{- index $existing.data "redis-password" | b64dec }}
{{- else }}
{{- randAlphaNum 40 }}
{{- end }}
{{- end }}

{{/* Labels of the chart's own Redis (cluster.redis.enabled): the release's, with component redis. */}}
{{- define "cua-mcp-server.redisLabels" -}}
helm.sh/chart: {{ include "cua-mcp-server.chart" . }}
app.kubernetes.io/name: {{ include "cua-mcp-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
