{{/* Names and labels shared by every template. */}}

{{- define "glassgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "glassgate.fullname" -}}
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

{{- define "glassgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "glassgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "glassgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "glassgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "glassgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "glassgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "glassgate.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "glassgate.fullname" . }}
{{- end }}
{{- end }}

{{- define "glassgate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* glassgate.yaml: .Values.config with the server values as its `server:` section. */}}
{{- define "glassgate.config" -}}
{{- $server := dict
  "shutdown_delay_s" .Values.server.shutdownDelaySeconds
  "graceful_shutdown_s" .Values.server.gracefulShutdownSeconds
  "keep_alive_s" .Values.server.keepAliveSeconds
  "header_timeout_s" .Values.server.headerTimeoutSeconds
  "body_timeout_s" .Values.server.bodyTimeoutSeconds
  "log_level" .Values.server.logLevel }}
{{- toYaml (merge (dict "server" $server) .Values.config) }}
{{- end }}

{{/* Seconds from the pod's termination to the end of the drain: preStop, the shutdown delay, the drain itself. */}}
{{- define "glassgate.drainSeconds" -}}
{{- add (int .Values.preStopSleepSeconds) (int (ceil .Values.server.shutdownDelaySeconds)) (int .Values.server.gracefulShutdownSeconds) }}
{{- end }}

{{/* The drain, then time for the span writer to write (or spill) its queue. */}}
{{- define "glassgate.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add (include "glassgate.drainSeconds" . | int) 15 }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Refuse values that would run a broken cluster rather than render it. */}}
{{- define "glassgate.validate" -}}
{{- if hasKey .Values.config "server" }}
{{- fail "config.server: set the chart's server values instead (server.shutdownDelaySeconds, server.gracefulShutdownSeconds, ...): the pod's termination is sized from them" }}
{{- end }}
{{- $drain := include "glassgate.drainSeconds" . | int }}
{{- if lt (include "glassgate.terminationGracePeriodSeconds" . | int) (add $drain 10) }}
{{- fail (printf "terminationGracePeriodSeconds must be at least %d: preStopSleepSeconds + server.shutdownDelaySeconds + server.gracefulShutdownSeconds (%d), plus 10 s for the span queue (or leave it unset)" (add $drain 10) $drain) }}
{{- end }}
{{- if .Values.embeddedDatabase }}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) .Values.worker.enabled }}
{{- fail "embeddedDatabase keeps PostgreSQL inside one pod: set replicaCount 1, autoscaling.enabled false and worker.enabled false, or give secrets.databaseUrl" }}
{{- end }}
{{- else if and .Values.secrets.create (not .Values.secrets.existingSecret) }}
{{- if not .Values.secrets.databaseUrl }}
{{- fail "secrets.databaseUrl is required (PostgreSQL with pgvector), or secrets.existingSecret" }}
{{- end }}
{{- end }}
{{- if and .Values.secrets.create (not .Values.secrets.existingSecret) }}
{{- if not (and .Values.secrets.adminToken .Values.secrets.secretKey) }}
{{- fail "secrets.adminToken and secrets.secretKey are required: every replica must share them (or use secrets.existingSecret)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The container environment shared by the servers and the workers. */}}
{{- define "glassgate.env" -}}
- name: GLASSGATE_CONFIG
  value: /etc/glassgate/glassgate.yaml
- name: GLASSGATE_HOST
  value: "0.0.0.0"
# Set explicitly: Kubernetes' service links would otherwise put GLASSGATE_PORT=tcp://... here.
- name: GLASSGATE_PORT
  value: "4000"
- name: GLASSGATE_DATA_DIR
  value: /var/lib/glassgate
- name: XDG_RUNTIME_DIR
  value: /tmp
{{- with .Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ .Values.otel.serviceName | quote }}
{{- with .Values.env }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "glassgate.envFrom" -}}
{{- if or .Values.secrets.create .Values.secrets.existingSecret }}
- secretRef:
    name: {{ include "glassgate.secretName" . }}
{{- end }}
{{- with .Values.envFrom }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "glassgate.podLabels" -}}
{{ include "glassgate.selectorLabels" . }}
{{- if .Values.serviceAccount.azure.clientId }}
azure.workload.identity/use: "true"
{{- end }}
{{- with .Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "glassgate.podAnnotations" -}}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "glassgate.volumes" -}}
- name: config
  configMap:
    name: {{ include "glassgate.fullname" . }}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.data.sizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmp.sizeLimit }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "glassgate.volumeMounts" -}}
- name: config
  mountPath: /etc/glassgate
  readOnly: true
- name: data
  mountPath: /var/lib/glassgate
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}
