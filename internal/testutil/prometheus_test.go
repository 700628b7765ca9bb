package testutil

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
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

// TestStartPushgatewayTakesAPush pushes one series in the text format and
// reads it back from the Pushgateway's /metrics with its grouping labels.
func TestStartPushgatewayTakesAPush(t *testing.T) {
	base := StartPushgateway(t)
	req, err := http.NewRequest(http.MethodPut, base+"/metrics/job/testutil/profile/p", strings.NewReader("pushed_value 42\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		t.Fatalf("push: %s", resp.Status)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if want := `pushed_value{instance="",job="testutil",profile="p"} 42`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s:\n%s", want, body)
	}
}
