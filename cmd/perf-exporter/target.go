package main

import (
	"context"
	"log/slog"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/target"
)

func targetCommand(app *kingpin.Application) command {
	cmd := app.Command("target", "Serve the built-in test target: /echo with ?delay=, ?size=, ?status=; HTTP/1.1, h2c and gRPC health on one port.")
	listen := cmd.Flag("listen", "Address to listen on.").Default("127.0.0.1:8080").String()
	cert := cmd.Flag("tls.cert-file", "Serve TLS with this certificate (and --tls.key-file).").String()
	key := cmd.Flag("tls.key-file", "Key of --tls.cert-file.").String()
	return command{clause: cmd, run: func(ctx context.Context, logger *slog.Logger) int {
		running, err := target.Start(ctx, *listen, target.Options{Logger: logger, TLSCertFile: *cert, TLSKeyFile: *key})
		if err != nil {
			logger.Error("cannot start the target", "err", err)
			return 1
		}
		logger.Info("target serving", "url", running.URL()+"/echo")
		if err := running.Wait(); err != nil {
			logger.Error("target stopped", "err", err)
			return 1
		}
		return 0
	}}
}
