package testutil

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestStartPrometheusScrapesNodeExporter starts both real servers and waits
// until Prometheus reports the node exporter up, which proves the generated
// config, the port handling and the readiness wait.
func TestStartPrometheusScrapesNodeExporter(t *testing.T) {
	node := StartNodeExporter(t, "--collector.disable-defaults", "--collector.loadavg")
	base := StartPrometheus(t, PrometheusOptions{Targets: []string{node}, JobName: "node"})

	deadline := time.Now().Add(15 * time.Second)
	for {
		if v := instantQuery(t, base, `up{job="node"}`); v == "1" {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("up{job=\"node\"} = %q after 15s, want 1", v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func instantQuery(t *testing.T, base, query string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data.Result) == 0 {
		return ""
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	return s
}
