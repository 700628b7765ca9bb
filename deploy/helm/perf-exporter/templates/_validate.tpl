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
{{- include "perf-exporter.validateEnvironmentSets" . }}
{{- include "perf-exporter.validateWebConfig" . }}
{{- include "perf-exporter.validateSharding" . }}
{{- include "perf-exporter.validateWebEndpoints" . }}
{{- end }}

{{/*
Split and shard are either/or: split shares every profile's load among the
pods, sharding shares the profiles among them. With sharding the pod count
is the shard count.
*/}}
{{- define "perf-exporter.validateSharding" -}}
{{- if include "perf-exporter.sharded" . }}
{{- if .Values.loadSplit.enabled }}
{{- fail (printf "loadSplit.enabled and sharding.shards=%v exclude each other: loadSplit shares every profile's load among the pods, sharding shares the profiles among them; use one" .Values.sharding.shards) }}
{{- end }}
{{- if ne (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount=%v with sharding.shards=%v: with sharding there is one pod per shard; leave replicaCount at 1" .Values.replicaCount .Values.sharding.shards) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The write endpoints start load tests and reload the config: they are only
turned on behind the web config's basic auth, and only through webEndpoints,
so that this check cannot be bypassed with extraArgs.
*/}}
{{- define "perf-exporter.validateWebEndpoints" -}}
{{- $flags := dict "lifecycle" "--web.enable-lifecycle" "adminAPI" "--web.enable-admin-api" }}
{{- range $key := list "lifecycle" "adminAPI" }}
{{- $flag := get $flags $key }}
{{- if and (get $.Values.webEndpoints $key) (not (include "perf-exporter.basicAuth" $)) }}
{{- fail (printf "webEndpoints.%s: %s would let anyone who reaches the port %s; turn on basic auth in the web config (webConfig.enabled: true with webConfig.config.basic_auth_users, or webConfig.existingSecret with webConfig.existingSecretBasicAuth: true)" $key $flag (ternary "reload the config" "start load tests" (eq $key "lifecycle"))) }}
{{- end }}
{{- range $.Values.extraArgs }}
{{- if hasPrefix $flag (toString .) }}
{{- fail (printf "extraArgs: %s: set webEndpoints.%s: true instead (the chart then checks that basic auth protects it)" (toString .) $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The web config and what depends on it. A web config that is set but not
turned on would leave the exporter on plain, unauthenticated HTTP while the
operator believes otherwise; a ServiceMonitor without the credentials the
web config asks for would fail every scrape.
*/}}
{{- define "perf-exporter.validateWebConfig" -}}
{{- $w := .Values.webConfig }}
{{- if not $w.enabled }}
{{- range $key := list "existingSecret" "existingSecretTLS" "existingSecretBasicAuth" "existingSecretClientCert" "config" "files" }}
{{- if not (empty (get $w $key)) }}
{{- fail (printf "webConfig.%s is set but webConfig.enabled is false, so the exporter would serve plain HTTP without authentication: set webConfig.enabled: true (or unset webConfig.%s)" $key $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $w.existingSecret }}
{{- range $key := list "existingSecretTLS" "existingSecretBasicAuth" "existingSecretClientCert" }}
{{- if get $w $key }}
{{- fail (printf "webConfig.%s describes webConfig.existingSecret, which is not set: set webConfig.existingSecret, or describe webConfig.config instead" $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- $tls := $w.config.tls_server_config | default dict }}
{{- if and $w.enabled (not $w.existingSecret) (hasKey $tls "client_auth_type") }}
{{- $types := splitList " " (include "perf-exporter.clientAuthTypes" .) }}
{{- if not (has ($tls.client_auth_type | toString) $types) }}
{{- fail (printf "webConfig.config.tls_server_config.client_auth_type: %q is not one of %s" ($tls.client_auth_type | toString) (join ", " $types)) }}
{{- end }}
{{- end }}
{{- $sm := .Values.serviceMonitor }}
{{- if $sm.enabled }}
{{- if and (include "perf-exporter.basicAuth" .) (empty $sm.basicAuth) }}
{{- fail "serviceMonitor.basicAuth: the web config requires basic auth, so every scrape without credentials gets 401; set serviceMonitor.basicAuth.username and .password to the keys of a Secret holding one of webConfig's users" }}
{{- end }}
{{- $tc := $sm.tlsConfig | default dict }}
{{- if and (include "perf-exporter.clientCert" .) (not (and $tc.cert $tc.keySecret)) }}
{{- fail "serviceMonitor.tlsConfig.cert and serviceMonitor.tlsConfig.keySecret: the web config requires a client certificate, so every scrape without one fails the TLS handshake; set them to a Secret's certificate and key that webConfig's client_ca_file trusts" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Walks a value of the config (dict "path" "value") and fails on a key that
holds a secret inline, or a URL with user:password (targets, Prometheus
sources, proxy_url, Grafana), naming the key that reads it from a mounted
file instead. The keys are prometheus/common's HTTP client settings (Prometheus
sources) and perf-exporter's grafana.basic_auth.
*/}}
{{- define "perf-exporter.noInlineSecrets" -}}
{{- $path := .path }}
{{- $fileKeys := dict "password" "password_file" "credentials" "credentials_file" "bearer_token" "bearer_token_file" "client_secret" "client_secret_file" "client_certificate_key" "client_certificate_key_file" }}
{{- if kindIs "map" .value }}
{{- range $k, $v := .value }}
{{- $at := printf "%s.%s" $path $k }}
{{- if and (kindIs "string" $v) (regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@]*:[^/?#]+@" $v) }}
{{- $hint := "put the credentials into secretFiles (or existingSecret) and refer to the file from a *_file setting" }}
{{- if eq $k "proxy_url" }}
{{- $hint = "a proxy's credentials cannot be given as a file: set proxy_from_environment: true instead and HTTPS_PROXY/HTTP_PROXY through extraEnv from a Secret (valueFrom.secretKeyRef)" }}
{{- else if contains ".target." $at }}
{{- $hint = "send them in an Authorization header read from a file: target.header_files: {Authorization: /etc/perf-exporter/secrets/<key>} with \"Basic <base64 of user:password>\" in secretFiles (or existingSecret)" }}
{{- else if hasPrefix "config.prometheus" $at }}
{{- $hint = "use basic_auth: {username: <user>, password_file: /etc/perf-exporter/secrets/<key>} with the password in secretFiles (or existingSecret)" }}
{{- else if hasPrefix "config.grafana" $at }}
{{- $hint = "use grafana.token_file, or grafana.basic_auth: {username: <user>, password_file: /etc/perf-exporter/secrets/<key>}, with the secret in secretFiles (or existingSecret)" }}
{{- end }}
{{- fail (printf "%s: the URL's user:password would be stored in the ConfigMap; remove it from the URL and %s" $at $hint) }}
{{- end }}
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

{{/*
Environment set files: from the values or from an existing ConfigMap, not
both (the chart mounts one directory). Each file must be YAML, so that a
broken file fails the upgrade, not the pods' start.
*/}}
{{- define "perf-exporter.validateEnvironmentSets" -}}
{{- if and .Values.existingEnvironmentSetConfigMap .Values.environmentSetFiles }}
{{- fail "set existingEnvironmentSetConfigMap or environmentSetFiles, not both: with existingEnvironmentSetConfigMap the chart creates no ConfigMap of set files" }}
{{- end }}
{{- range $key, $content := .Values.environmentSetFiles }}
{{- $parsed := fromYaml (toString $content) }}
{{- if and (hasKey $parsed "Error") (kindIs "string" (get $parsed "Error")) }}
{{- fail (printf "environmentSetFiles.%s: not a YAML mapping of set names to lists of queries (as `dashboards import --environment-set` writes): %s" $key (get $parsed "Error")) }}
{{- end }}
{{- end }}
{{- end }}
