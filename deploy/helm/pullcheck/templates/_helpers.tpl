{{/* The chart name, at most 63 characters. */}}
{{- define "pullcheck.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release fullname: the release name when it already contains the chart name. */}}
{{- define "pullcheck.fullname" -}}
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

{{- define "pullcheck.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pullcheck.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pullcheck.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pullcheck.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "pullcheck.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pullcheck.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pullcheck.secretName" -}}
{{- default (printf "%s-slack" (include "pullcheck.fullname" .)) .Values.slack.secret.name }}
{{- end }}

{{- define "pullcheck.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The rules file the bot reads (PULLCHECK_SLACK_CONFIG). */}}
{{- define "pullcheck.rules" -}}
{{- toYaml .Values.config }}
{{- end }}

{{/* alerts: "true" when the rules configure channel alerts. */}}
{{- define "pullcheck.alerts" -}}
{{- if .Values.config.alerts }}true{{ end }}
{{- end }}

{{/* watch: "true" when the alerts run the pod watch (default on). */}}
{{- define "pullcheck.watch" -}}
{{- if .Values.config.alerts }}
{{- if not (eq (toString .Values.config.alerts.watch) "false") }}true{{ end }}
{{- end }}
{{- end }}

{{/* The namespaces whose secrets the bot reads: rbac.secretNamespaces when readSecrets is on,
and probe.secretNamespaces when the probe is. */}}
{{- define "pullcheck.secretNamespaces" -}}
{{- $ns := list }}
{{- if .Values.readSecrets }}{{ $ns = concat $ns .Values.rbac.secretNamespaces }}{{ end }}
{{- if .Values.probe.enabled }}{{ $ns = concat $ns .Values.probe.secretNamespaces }}{{ end }}
{{- $ns | uniq | sortAlpha | toJson }}
{{- end }}
