{{/*
The chart uses a small subset of Helm's template language on purpose:
if/else, range, with, define/include, $variables, and the functions
default, printf, quote, toYaml, nindent, indent, list, eq, ne, not, and,
or.  tests/deploy renders the chart with its own renderer of exactly that
subset (no helm binary on the test machines), which refuses anything else.
*/}}
{{- define "virtrigaud.fullname" -}}
{{- default (printf "%s-manager" .Release.Name) .Values.fullnameOverride -}}
{{- end -}}

{{- define "virtrigaud.serviceAccountName" -}}
{{- default (include "virtrigaud.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "virtrigaud.selectorLabels" -}}
app.kubernetes.io/name: virtrigaud-manager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "virtrigaud.labels" -}}
{{ include "virtrigaud.selectorLabels" . }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: virtrigaud
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
