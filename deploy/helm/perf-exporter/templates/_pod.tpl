{{/*
The pod template shared by the Deployment (run history in an emptyDir) and the
StatefulSet (one volume per replica with persistence).
*/}}
{{- define "perf-exporter.podTemplate" -}}
metadata:
  labels:
    {{- include "perf-exporter.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Rolls the pods when the config changes (it is mounted with subPath,
    # which the kubelet does not update). Secrets are mounted as directories:
    # the kubelet updates rotated credentials in place.
    checksum/config: {{ include "perf-exporter.configFile" . | sha256sum }}
    {{- if and .Values.environmentSetFiles (not .Values.existingEnvironmentSetConfigMap) }}
    # The set files are mounted as a directory, which the kubelet updates in
    # place, but perf-exporter reads them only at start and on reload: roll.
    checksum/environment-sets: {{ toYaml .Values.environmentSetFiles | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "perf-exporter.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: perf-exporter
      image: {{ include "perf-exporter.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --config.file=/etc/perf-exporter/config.yaml
        - --web.listen-address=:{{ .Values.service.port }}
        - --storage.path=/data
        {{- if .Values.webConfig.enabled }}
        - --web.config.file=/etc/perf-exporter/web/web-config.yml
        {{- end }}
        {{- if .Values.webEndpoints.lifecycle }}
        - --web.enable-lifecycle
        {{- end }}
        {{- if .Values.webEndpoints.adminAPI }}
        - --web.enable-admin-api
        {{- end }}
        {{- if .Values.loadSplit.enabled }}
        - --load.split={{ .Values.replicaCount }}
        {{- end }}
        {{- if include "perf-exporter.sharded" . }}
        # The pod's ordinal (the StatefulSet's pod-index label) is its shard.
        - --profiles.shard=$(PERF_EXPORTER_SHARD_INDEX)/{{ .Values.sharding.shards }}
        {{- end }}
        - --log.level={{ .Values.logLevel }}
        - --log.format={{ .Values.logFormat }}
        {{- with .Values.extraArgs }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if or .Values.extraEnv (include "perf-exporter.sharded" .) }}
      env:
        {{- if include "perf-exporter.sharded" . }}
        # Set by the StatefulSet controller (Kubernetes 1.28 and later).
        - name: PERF_EXPORTER_SHARD_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: http-metrics
          containerPort: {{ .Values.service.port }}
          protocol: TCP
      livenessProbe:
        {{- include "perf-exporter.probe" (dict "root" . "path" "/-/healthy" "settings" .Values.livenessProbe) | trim | nindent 8 }}
      readinessProbe:
        {{- include "perf-exporter.probe" (dict "root" . "path" "/-/ready" "settings" .Values.readinessProbe) | trim | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/perf-exporter/config.yaml
          subPath: config.yaml
          readOnly: true
        {{- if include "perf-exporter.environmentSetsConfigMap" . }}
        - name: environment-sets
          mountPath: /etc/perf-exporter/{{ include "perf-exporter.environmentSetDir" . }}
          readOnly: true
        {{- end }}
        {{- if include "perf-exporter.secretName" . }}
        - name: secrets
          mountPath: /etc/perf-exporter/secrets
          readOnly: true
        {{- end }}
        {{- if .Values.webConfig.enabled }}
        - name: web-config
          mountPath: /etc/perf-exporter/web
          readOnly: true
        {{- end }}
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "perf-exporter.fullname" . }}
    {{- with include "perf-exporter.environmentSetsConfigMap" . }}
    - name: environment-sets
      configMap:
        name: {{ . }}
    {{- end }}
    {{- with include "perf-exporter.secretName" . }}
    - name: secrets
      secret:
        secretName: {{ . }}
        defaultMode: 0444
    {{- end }}
    {{- if .Values.webConfig.enabled }}
    - name: web-config
      secret:
        secretName: {{ include "perf-exporter.webConfigSecretName" . }}
        defaultMode: 0444
    {{- end }}
    {{- if not .Values.persistence.enabled }}
    - name: data
      emptyDir:
        {{- with .Values.emptyDir.sizeLimit }}
        sizeLimit: {{ . }}
        {{- end }}
    {{- end }}
    # Scratch space: the root filesystem is read-only.
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
