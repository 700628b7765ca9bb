{{/*
The config lives in a ConfigMap, which anyone who may read the namespace can
read: refuse credentials written into it, and say where they belong instead.
Called from the ConfigMap, so `helm template`, `lint` and `install` all fail.
*/}}
{{- define "perf-exporter.validate" -}}
{{- include "perf-exporter.noInlineSecrets" (dict "path" "config" "value" .Values.config) }}
{{- range $i, $p := .Values.config.profiles }}
{{- $target := $p.target | default dict }}
{{- $secret := list "authorization" "proxy-authorization" "cookie" }}
{{- range $target.secret_headers }}{{ $secret = append $secret (lower .) }}{{ end }}
{{- range $name, $_ := $target.headers }}
{{- if has (lower $name) $secret }}
{{- fail (printf "config.profiles[%d].target.headers.%s: a credential header would be stored in the ConfigMap; put it under target.header_files as a path into the mounted Secret (e.g. %s: /etc/perf-exporter/secrets/<key>)" $i $name $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.existingSecret .Values.secretFiles }}
{{- fail "set existingSecret or secretFiles, not both: with existingSecret the chart creates no Secret" }}
{{- end }}
{{- if and .Values.webConfig.enabled (not .Values.webConfig.existingSecret) (empty .Values.webConfig.config) }}
{{- fail "webConfig.enabled needs webConfig.config (tls_server_config, basic_auth_users) or webConfig.existingSecret" }}
{{- end }}
{{- end }}

{{/*
Walks a value of the config (dict "path" "value") and fails on a key that
holds a secret inline, naming the key that reads it from a mounted file
instead. The keys are prometheus/common's HTTP client settings (Prometheus
sources) and perf-exporter's grafana.basic_auth.
*/}}
{{- define "perf-exporter.noInlineSecrets" -}}
{{- $path := .path }}
{{- $fileKeys := dict "password" "password_file" "credentials" "credentials_file" "bearer_token" "bearer_token_file" "client_secret" "client_secret_file" "client_certificate_key" "client_certificate_key_file" }}
{{- if kindIs "map" .value }}
{{- range $k, $v := .value }}
{{- $at := printf "%s.%s" $path $k }}
{{- $instead := get $fileKeys $k }}
{{- if and (eq $k "key") (hasSuffix "tls_config" $path) }}{{ $instead = "key_file" }}{{ end }}
{{- if and (eq $k "secrets") (contains ".http_headers." $path) }}{{ $instead = "files" }}{{ end }}
{{- if and $v $instead }}
{{- $hint := printf "%s: /etc/perf-exporter/secrets/<key>" $instead }}
{{- if eq $instead "files" }}{{ $hint = "files: [/etc/perf-exporter/secrets/<key>]" }}{{ end }}
{{- fail (printf "%s: a secret would be stored in the ConfigMap; put it into secretFiles (or existingSecret) and use %s instead" $at $hint) }}
{{- end }}
{{- if and $v (eq $k "proxy_connect_header") }}
{{- fail (printf "%s: header values would be stored in the ConfigMap as plain text; this setting cannot be used through the chart" $at) }}
{{- end }}
{{- include "perf-exporter.noInlineSecrets" (dict "path" $at "value" $v) }}
{{- end }}
{{- else if kindIs "slice" .value }}
{{- range $i, $v := .value }}
{{- include "perf-exporter.noInlineSecrets" (dict "path" (printf "%s[%d]" $path $i) "value" $v) }}
{{- end }}
{{- end }}
{{- end }}
