package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"fortio.org/fortio/stats"
)

const accuracyConnections = 8

var accuracyRates = []float64{100, 1000, 10000}

func benchRate(ctx context.Context, o options, b binaries, t *target, rep *report) error {
	secs := o.accuracyDuration.String()
	ratios := map[float64][]float64{}
	lateness := map[float64][]float64{}
	lines := []string{"| round | requested | achieved | achieved / requested | p99 send lateness |", "|---|---|---|---|---|"}
	for round := range o.accuracyRounds {
		for i := range accuracyRates {
			qps := accuracyRates[(i+round)%len(accuracyRates)]
			doc, _, err := ourDocument(ctx, b, "--url", t.url+"/echo", "--qps", strconv.FormatFloat(qps, 'f', -1, 64),
				"--connections", strconv.Itoa(accuracyConnections), "--duration", secs)
			if err != nil {
				return err
			}
			late := percentile(doc.PerfExporter.SendLateness, 99)
			ratios[qps] = append(ratios[qps], doc.ActualQPS/qps)
			lateness[qps] = append(lateness[qps], late)
			lines = append(lines, fmt.Sprintf("| %d | %.0f | %.2f | %.4f | %s |", round+1, qps, doc.ActualQPS, doc.ActualQPS/qps, ms(late)))
			logf("round %d: %.0f qps requested, %.2f achieved, p99 send lateness %s", round+1, qps, doc.ActualQPS, ms(late))
		}
	}
	rep.heading(fmt.Sprintf("Rate accuracy: /echo, %d connections, %s × %d rounds", accuracyConnections, o.accuracyDuration, o.accuracyRounds))
	for _, qps := range accuracyRates {
		r := median(ratios[qps])
		rep.check(fmt.Sprintf("achieved / requested at %.0f qps", qps), fmt.Sprintf("%.4f", r), "within 1 %", math.Abs(r-1) <= 0.01)
		rep.figure(fmt.Sprintf("p99 send lateness at %.0f qps", qps), ms(median(lateness[qps])))
	}
	how := fmt.Sprintf(``+"`perf-exporter run --qps R --connections %d --duration %s --json -`"+` at each rate, the
rates alternating within each round. Achieved is the document's ActualQPS (requests over the
run's actual length); send lateness is PerfExporter.SendLateness, how late each request left
versus the send time Fortio's schedule intended, at its 99th percentile. Medians of the rounds.`,
		accuracyConnections, o.accuracyDuration)
	rep.section("Rate accuracy", how, lines...)
	return nil
}

func benchLatency(ctx context.Context, o options, b binaries, t *target, rep *report) error {
	const delay = 20 * time.Millisecond
	url := t.url + "/echo?delay=20ms"
	secs := o.accuracyDuration.String()
	var ours, wrk []float64
	lines := []string{"| round | perf-exporter p50 | wrk p50 |", "|---|---|---|"}
	for round := range o.accuracyRounds {
		var oursP50, wrkP50 float64
		for i := range 2 {
			if (i+round)%2 == 0 {
				doc, _, err := ourDocument(ctx, b, "--url", url, "--qps", "0", "--connections", strconv.Itoa(accuracyConnections), "--duration", secs)
				if err != nil {
					return err
				}
				oursP50 = percentile(doc.DurationHistogram, 50)
				ours = append(ours, oursP50)
				continue
			}
			m, err := runMeasured(ctx, o.wrk, "-t2", "-c"+strconv.Itoa(accuracyConnections), "-d"+secs, "--latency", url)
			if err != nil {
				return err
			}
			w, err := parseWrk(m.stdout)
			if err != nil {
				return err
			}
			wrkP50 = w.p50.Seconds()
			wrk = append(wrk, wrkP50)
		}
		lines = append(lines, fmt.Sprintf("| %d | %s | %s |", round+1, ms(oursP50), ms(wrkP50)))
		logf("round %d: p50 perf-exporter %s, wrk %s", round+1, ms(oursP50), ms(wrkP50))
	}
	o50, w50 := median(ours), median(wrk)
	rep.heading(fmt.Sprintf("Latency accuracy: /echo?delay=20ms, %d connections, %s × %d rounds", accuracyConnections, o.accuracyDuration, o.accuracyRounds))
	rep.check("perf-exporter p50 − 20 ms", signedMs(o50-delay.Seconds()), "< 1 ms", o50-delay.Seconds() < 0.001)
	rep.figure("wrk p50 − 20 ms (`wrk --latency`)", signedMs(w50-delay.Seconds()))
	rep.figure("perf-exporter p50 − wrk p50", signedMs(o50-w50))
	how := fmt.Sprintf(`Against the built-in target's /echo?delay=20ms, `+"`perf-exporter run --qps 0 --connections %d`"+`
(p50 from the result document, which comes from the hook's exact histogram) and `+"`wrk -t2 -c%d --latency`"+`
(its 50%% line), alternating, %s each. The target sleeps on a Go timer, which itself fires late
by a fraction of a millisecond on a busy machine: wrk's figure for the same target shows that
share, and the difference between the two is the measuring client's own.`, accuracyConnections, accuracyConnections, o.accuracyDuration)
	rep.section("Latency accuracy", how, lines...)
	return nil
}

// percentile finds percentile p in a fortio histogram's percentile list.
func percentile(h *stats.HistogramData, p float64) float64 {
	if h == nil {
		return math.NaN()
	}
	for _, pc := range h.Percentiles {
		if pc.Percentile == p {
			return pc.Value
		}
	}
	return math.NaN()
}
