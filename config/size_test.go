package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A path that is not a config file of sane size (a mistyped path to a big
// log, /dev/zero) is refused with a clear error, never read whole: reading
// /dev/zero ran the process out of memory (fatal error, no message).
func TestConfigFileTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxConfigFileSize + 1); err != nil { // sparse: cheap
		t.Fatal(err)
	}
	f.Close()
	want := path + " is larger than 16 MiB: not a config file?"
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadFile: %v, want %q", err, want)
	}
	if _, err := OpenFile(path); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("OpenFile (start and reload): %v, want %q", err, want)
	}
}

// A header file is read at every run: one that is not a header value
// (a wrong path to a big file or a device) fails the run with a message
// instead of being read whole by the daemon.
func TestHeaderFileTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1<<20 + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Target{HeaderFiles: map[string]string{"Authorization": path}}.WithHeaderFiles()
	want := "target.header_files: header Authorization: " + path + " is larger than 1 MiB: not a header value?"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
