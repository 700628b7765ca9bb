package config

import (
	"fmt"
	"io"
	"os"
)

// MaxConfigFileSize bounds what is read as a config or environment set
// file: a config of 20 000 profiles is under 2 MiB, so a bigger file is a
// wrong path (a log, a device such as /dev/zero), not read whole.
const MaxConfigFileSize = 16 << 20

// maxHeaderFileSize bounds a header_files value, read at every run: servers
// refuse headers far smaller.
const maxHeaderFileSize = 1 << 20

// readConfigFile reads a config or set file of at most MaxConfigFileSize.
func readConfigFile(path string) ([]byte, error) {
	return readBounded(path, MaxConfigFileSize, "a config file")
}

// readBounded reads a file of at most limit bytes; what says what the
// file should have been, for the error.
func readBounded(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d MiB: not %s?", path, limit>>20, what)
	}
	return data, nil
}
