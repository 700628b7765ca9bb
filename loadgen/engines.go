package loadgen

import (
	"fmt"
	"log/slog"

	"github.com/perf-exporter/perf-exporter/config"
)

// New returns the engine of a profile's engine name, with the external
// tools' paths from the config.
func New(name string, engines config.Engines, logger *slog.Logger) (Engine, error) {
	switch name {
	case config.EngineFortio, "":
		return NewFortio(), nil
	case config.EngineWrk:
		return NewWrk(engines.Wrk.Path, logger), nil
	case config.EngineWrk2:
		return NewWrk2(engines.Wrk2.Path, logger), nil
	case config.EngineNighthawk:
		return NewNighthawk(engines.Nighthawk.Path, logger), nil
	}
	return nil, fmt.Errorf("unknown engine %q (fortio, wrk, wrk2 or nighthawk)", name)
}
