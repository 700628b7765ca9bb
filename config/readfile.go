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

// readConfigFile reads a config or set file of at most MaxConfigFileSize.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxConfigFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a config file?", path, MaxConfigFileSize>>20)
	}
	return data, nil
}
