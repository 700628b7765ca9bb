package web

import (
	"html/template"
	"net/http"
	"strconv"
)

var landingTemplate = template.Must(template.New("landing").Funcs(template.FuncMap{
	"ms":  formatMillis,
	"pct": func(ratio float64) float64 { return ratio * 100 },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>perf-exporter</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { padding: .35em .8em; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.success { color: #1a7f37; } .slo_missed { color: #b35900; } .failure, .aborted { color: #cf222e; }
</style>
</head>
<body>
<h1>perf-exporter</h1>
<p>Scheduled load tests exported as Prometheus metrics. {{.Version}}</p>
<p><a href="metrics">Metrics</a> · <a href="api/v1/profiles">Profiles (JSON)</a> · <a href="-/healthy">Health</a></p>
<h2>Profiles</h2>
{{if .Profiles}}
<table>
<tr><th>Profile</th><th>Target</th><th>Engine</th><th>Schedule</th><th>Last run</th><th>Outcome</th><th>p50</th><th>p99</th><th>req/s</th><th>Errors</th><th>Next run</th></tr>
{{range .Profiles}}
<tr>
<td>{{.Name}}{{if .Running}} <em>(running)</em>{{end}}</td>
<td>{{.Method}} {{.Target}}</td>
<td>{{.Engine}}/{{.Protocol}}</td>
<td>{{.Schedule}}</td>
{{with .LastRun}}
<td>{{.Start.Format "2006-01-02 15:04:05 MST"}}</td>
<td class="{{.Outcome}}">{{.Outcome}}{{if .Error}}: {{.Error}}{{end}}</td>
<td class="num">{{ms (index .Latency "50")}}</td>
<td class="num">{{ms (index .Latency "99")}}</td>
<td class="num">{{printf "%.1f" .AchievedRPS}}</td>
<td class="num">{{printf "%.2f%%" (pct .ErrorRatio)}}</td>
{{else}}
<td colspan="6">not run yet</td>
{{end}}
<td>{{with .NextRun}}{{.Format "15:04:05 MST"}}{{end}}</td>
</tr>
{{end}}
</table>
{{else}}
<p>No profiles are configured.</p>
{{end}}
</body>
</html>
`))

func landingPage(o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		data := struct {
			Version  string
			Profiles []ProfileView
		}{o.Version, profileViews(o.Profiles.Statuses())}
		if err := landingTemplate.Execute(w, data); err != nil {
			o.Logger.Error("landing page", "err", err)
		}
	})
}

// formatMillis shows a latency in milliseconds with three significant digits.
func formatMillis(seconds float64) string {
	return strconv.FormatFloat(seconds*1000, 'g', 3, 64) + " ms"
}
