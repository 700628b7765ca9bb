{{/* Name of the chart, overridable. */}}
{{- define "perf-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects. Truncated to 63 characters because some
Kubernetes name fields are limited to this (by the DNS naming spec).
*/}}
{{- define "perf-exporter.fullname" -}}
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

{{- define "perf-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "perf-exporter.labels" -}}
helm.sh/chart: {{ include "perf-exporter.chart" . }}
{{ include "perf-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: perf-exporter
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "perf-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "perf-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "perf-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "perf-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "perf-exporter.image" -}}
{{- printf "%s:%s" .Values.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.image.tag) }}
{{- end }}

{{/* The Secret mounted at /etc/perf-exporter/secrets/, if any. */}}
{{- define "perf-exporter.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else if .Values.secretFiles }}
{{- include "perf-exporter.fullname" . }}
{{- end }}
{{- end }}

{{- define "perf-exporter.webConfigSecretName" -}}
{{- default (printf "%s-web-config" (include "perf-exporter.fullname" .)) .Values.webConfig.existingSecret }}
{{- end }}

{{/*
The rendered config file. Rendering it in one place makes the ConfigMap and
the checksum annotation that rolls the pods agree byte for byte.
*/}}
{{- define "perf-exporter.configFile" -}}
{{- $config := deepCopy .Values.config }}
{{- if include "perf-exporter.environmentSetsConfigMap" . }}
{{- $files := $config.environment_set_files | default list }}
{{- $glob := include "perf-exporter.environmentSetGlob" . }}
{{- if not (has $glob $files) }}
{{- $_ := set $config "environment_set_files" (append $files $glob) }}
{{- end }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
The ConfigMap of environment set files (environmentSetFiles or
existingEnvironmentSetConfigMap), if any. It is mounted as a directory next
to config.yaml, and the config includes its files by a glob relative to
config.yaml. Only *.yaml: a ConfigMap volume also holds the kubelet's
..data links, which a bare * would match.
*/}}
{{- define "perf-exporter.environmentSetsConfigMap" -}}
{{- if .Values.existingEnvironmentSetConfigMap }}
{{- .Values.existingEnvironmentSetConfigMap }}
{{- else if .Values.environmentSetFiles }}
{{- include "perf-exporter.fullname" . }}-environment-sets
{{- end }}
{{- end }}
{{- define "perf-exporter.environmentSetDir" -}}environment-sets{{- end }}
{{- define "perf-exporter.environmentSetGlob" -}}{{ include "perf-exporter.environmentSetDir" . }}/*.yaml{{- end }}

{{/* Whether the exporter serves TLS: probes and the ServiceMonitor follow. */}}
{{- define "perf-exporter.tls" -}}
{{- $w := .Values.webConfig }}
{{- if and $w.enabled (ternary $w.existingSecretTLS $w.config.tls_server_config (not (empty $w.existingSecret))) }}true{{ end }}
{{- end }}

{{/*
Whether the web config asks for basic auth. exporter-toolkit's basic auth
covers /-/healthy and /-/ready too, and a probe cannot carry a password
without putting it into the pod spec: such pods are probed on the TCP port.
*/}}
{{- define "perf-exporter.basicAuth" -}}
{{- $w := .Values.webConfig }}
{{- if and $w.enabled (ternary $w.existingSecretBasicAuth $w.config.basic_auth_users (not (empty $w.existingSecret))) }}true{{ end }}
{{- end }}

{{/*
exporter-toolkit's client_auth_type values (web/tls_config.go), and those of
them that refuse a TLS handshake without a client certificate.
*/}}
{{- define "perf-exporter.clientAuthTypes" -}}
NoClientCert RequestClientCert RequireAnyClientCert RequireClientCert VerifyClientCertIfGiven RequireAndVerifyClientCert
{{- end }}
{{- define "perf-exporter.clientCertRequired" -}}
RequireAnyClientCert RequireClientCert RequireAndVerifyClientCert
{{- end }}

{{/*
Whether the web config requires a client certificate. The kubelet has none
to present, so an HTTPS probe would fail for ever: such pods are probed on
the TCP port, as with basic auth.
*/}}
{{- define "perf-exporter.clientCert" -}}
{{- $w := .Values.webConfig }}
{{- if $w.enabled }}
{{- if $w.existingSecret }}
{{- if $w.existingSecretClientCert }}true{{ end }}
{{- else }}
{{- $tls := $w.config.tls_server_config | default dict }}
{{- if has ($tls.client_auth_type | default "" | toString) (splitList " " (include "perf-exporter.clientCertRequired" .)) }}true{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/* A probe of the metrics port; its path is the argument "path". */}}
{{- define "perf-exporter.probe" -}}
{{- if or (include "perf-exporter.basicAuth" .root) (include "perf-exporter.clientCert" .root) }}
tcpSocket:
  port: http-metrics
{{- else }}
httpGet:
  path: {{ .path }}
  port: http-metrics
  scheme: {{ ternary "HTTPS" "HTTP" (eq (include "perf-exporter.tls" .root) "true") }}
{{- end }}
{{ toYaml .settings }}
{{- end }}

{{/*
Sharded (sharding.shards > 0): the pods share the profiles, each running its
own shard; they need a stable index, so they run as a StatefulSet.
*/}}
{{- define "perf-exporter.sharded" -}}
{{- if gt (int .Values.sharding.shards) 0 }}true{{ end }}
{{- end }}

{{/* A StatefulSet with persistence (one volume per pod) or with sharding. */}}
{{- define "perf-exporter.statefulSet" -}}
{{- if or .Values.persistence.enabled (include "perf-exporter.sharded" .) }}true{{ end }}
{{- end }}

{{/* The number of pods: one per shard when sharded. */}}
{{- define "perf-exporter.replicas" -}}
{{- if include "perf-exporter.sharded" . }}{{ .Values.sharding.shards }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}
