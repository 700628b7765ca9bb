package push

import (
	"context"
	"fmt"
	"maps"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
)

// Pushgateway pushes series to a Pushgateway, grouped by job, profile and
// the extra labels: one group per profile (and per label set, so runs of
// two branches do not replace each other), replaced by each push.
type Pushgateway struct {
	URL    string
	Client push.HTTPDoer
}

// Push replaces the run's group with the series as they are now.
func (g Pushgateway) Push(ctx context.Context, s *Series) error {
	labels := s.Labels()
	job := labels["job"]
	delete(labels, "job")
	grouping := map[string]string{"profile": s.Profile()}
	maps.Copy(grouping, labels)
	p := push.New(g.URL, job).Client(g.Client).Gatherer(withoutLabels(s, grouping))
	names := make([]string, 0, len(grouping))
	for k := range grouping {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p = p.Grouping(k, grouping[k])
	}
	if err := p.PushContext(ctx); err != nil {
		return fmt.Errorf("push to the Pushgateway %s: %w", g.URL, err)
	}
	return nil
}

// withoutLabels gathers the series without the grouping labels: the
// Pushgateway puts them back on every series of the group, and the push
// package refuses series that carry them.
func withoutLabels(s *Series, grouping map[string]string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		families, err := s.Gather()
		if err != nil {
			return nil, err
		}
		for _, f := range families {
			for _, m := range f.Metric {
				// A new slice: the gathered one is the collector's own.
				kept := make([]*dto.LabelPair, 0, len(m.Label))
				for _, l := range m.Label {
					if _, ok := grouping[l.GetName()]; !ok {
						kept = append(kept, l)
					}
				}
				m.Label = kept
			}
		}
		return families, nil
	})
}
