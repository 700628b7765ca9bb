package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfigSaysHowManyProfiles(t *testing.T) {
	profile := func(name string) string {
		return fmt.Sprintf("  - {name: %s, schedule: \"@every 1m\", target: {url: \"http://127.0.0.1:1/\"}}\n", name)
	}
	for _, tc := range []struct {
		profiles []string
		want     string
	}{
		{[]string{"a"}, "OK (1 profile)\n"},
		{[]string{"a", "b"}, "OK (2 profiles)\n"},
	} {
		file := filepath.Join(t.TempDir(), "config.yaml")
		yaml := "profiles:\n"
		for _, p := range tc.profiles {
			yaml += profile(p)
		}
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := checkConfig(file, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if got := stdout.String(); got != file+": "+tc.want {
			t.Errorf("%d profiles: %q, want %q", len(tc.profiles), got, file+": "+tc.want)
		}
	}
	var stdout, stderr bytes.Buffer
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("profiles:\n  - {name: a, schedule: nope, target: {url: \"http://127.0.0.1:1/\"}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := checkConfig(bad, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "bad.yaml:2") || stdout.Len() != 0 {
		t.Errorf("bad config: exit %d, stdout %q, stderr %q; want 1 and the problem with file:line", code, stdout.String(), stderr.String())
	}
}
