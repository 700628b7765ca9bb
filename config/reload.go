package config

import (
	"crypto/sha256"
	"fmt"
	"sync"
)

// File is a config file that can be reloaded. A reload replaces the config
// only when the new one is valid; an unchanged file is not reloaded.
type File struct {
	path string

	mu       sync.Mutex
	checksum [sha256.Size]byte
	current  *Config
}

// OpenFile loads a config file for the first time.
func OpenFile(path string) (*File, error) {
	f := &File{path: path}
	if _, _, err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Current is the config in force.
func (f *File) Current() *Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}

// Reload reads the file again. It returns the config in force and whether
// it changed; on error the previous config stays in force.
func (f *File) Reload() (*Config, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := readConfigFile(f.path)
	if err != nil {
		return f.current, false, fmt.Errorf("reading config: %w", err)
	}
	// Parsed before comparing: the checksum covers the environment set
	// files the config includes, and which files those are is in the
	// config.
	cfg, err := Parse(data, f.path)
	if err != nil {
		return f.current, false, err
	}
	sum := cfg.checksum(data)
	if f.current != nil && sum == f.checksum {
		return f.current, false, nil
	}
	f.current, f.checksum = cfg, sum
	return cfg, true, nil
}

// checksum identifies a config's content: the file's bytes and those of
// every environment set file it included, with their names.
func (c *Config) checksum(data []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(data)
	for _, f := range c.included {
		fmt.Fprintf(h, "\x00%s\x00%d\x00", f.path, len(f.data))
		h.Write(f.data)
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// Validate checks a config built in code (the run command, the demo) with
// the same rules as a file; errors carry source instead of file:line.
func Validate(cfg *Config, source string) error {
	v := &validator{file: source}
	v.config(cfg)
	if len(v.errs) > 0 {
		return v.errs
	}
	return nil
}
