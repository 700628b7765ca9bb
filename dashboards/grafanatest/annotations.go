package grafanatest

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Annotation is a stored annotation as tests see it. Time and TimeEnd are
// epoch milliseconds; DashboardUID is empty for an organization annotation.
type Annotation struct {
	ID           int64
	DashboardUID string
	PanelID      int64
	Time         int64
	TimeEnd      int64
	Text         string
	Tags         []string
}

// Annotations returns an org's annotations, oldest id first.
func (s *Server) Annotations(orgID int64) []Annotation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Annotation
	for _, a := range s.org(orgID).annotations {
		c := *a
		c.Tags = slices.Clone(a.Tags)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (a *Annotation) json() map[string]any {
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{"id": a.ID, "alertId": 0, "dashboardId": 0, "dashboardUID": a.DashboardUID, "panelId": a.PanelID,
		"time": a.Time, "timeEnd": a.TimeEnd, "text": a.Text, "tags": tags, "login": "sa-perf-exporter",
		"created": a.Time, "updated": a.Time, "data": map[string]any{}}
}

// annotationCommand is the body of POST and PATCH /api/annotations.
type annotationCommand struct {
	DashboardUID string   `json:"dashboardUID"`
	DashboardID  int64    `json:"dashboardId"`
	PanelID      int64    `json:"panelId"`
	Time         int64    `json:"time"`
	TimeEnd      int64    `json:"timeEnd"`
	Text         *string  `json:"text"`
	Tags         []string `json:"tags"`
}

// annotations is POST /api/annotations (create; annotations:create, so an
// Editor; an unknown dashboardUID is 404, never an organization
// annotation; time 0 means now) and GET /api/annotations (filters from,
// to, repeated tags AND-ed unless matchAny=true, dashboardUID, limit
// default 100; newest first).
func (s *Server) annotations(w http.ResponseWriter, r *http.Request, c *caller) {
	switch r.Method {
	case http.MethodGet:
		s.findAnnotations(w, r, c)
	case http.MethodPost:
		if !c.canWrite() {
			accessDenied(w, "annotations:create")
			return
		}
		var cmd annotationCommand
		if !decode(w, r, &cmd) {
			return
		}
		if cmd.Text == nil || *cmd.Text == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Failed to save annotation"})
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if cmd.DashboardUID != "" {
			if _, ok := c.org.dashboards[cmd.DashboardUID]; !ok {
				writeJSON(w, http.StatusNotFound, errBody("not-found", "Dashboard not found"))
				return
			}
		}
		if cmd.Time == 0 {
			cmd.Time = time.Now().UnixMilli()
		}
		if cmd.TimeEnd == 0 {
			cmd.TimeEnd = cmd.Time
		}
		a := &Annotation{ID: s.newID(), DashboardUID: cmd.DashboardUID, PanelID: cmd.PanelID, Time: cmd.Time, TimeEnd: cmd.TimeEnd, Text: *cmd.Text, Tags: cmd.Tags}
		c.org.annotations[a.ID] = a
		writeJSON(w, http.StatusOK, map[string]any{"message": "Annotation added", "id": a.ID})
	default:
		methodNotAllowed(w)
	}
}

func (s *Server) findAnnotations(w http.ResponseWriter, r *http.Request, c *caller) {
	q := r.URL.Query()
	num := func(key string, def int64) int64 {
		if n, err := strconv.ParseInt(q.Get(key), 10, 64); err == nil {
			return n
		}
		return def
	}
	from, to, limit := num("from", 0), num("to", 1<<62), num("limit", 100)
	tags, matchAny, dash := q["tags"], q.Get("matchAny") == "true", q.Get("dashboardUID")
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*Annotation
	for _, a := range c.org.annotations {
		if a.Time > to || a.TimeEnd < from || dash != "" && a.DashboardUID != dash {
			continue
		}
		if len(tags) > 0 {
			hits := 0
			for _, t := range tags {
				if slices.Contains(a.Tags, t) {
					hits++
				}
			}
			if matchAny && hits == 0 || !matchAny && hits < len(tags) {
				continue
			}
		}
		found = append(found, a)
	}
	sort.Slice(found, func(i, j int) bool {
		return found[i].Time > found[j].Time || found[i].Time == found[j].Time && found[i].ID > found[j].ID
	})
	out := []map[string]any{}
	for i, a := range found {
		if int64(i) >= limit {
			break
		}
		out = append(out, a.json())
	}
	writeJSON(w, http.StatusOK, out)
}

// annotationByID is PATCH /api/annotations/{id}: time, timeEnd, text and
// tags when given; annotations:write; an unknown id is 404.
func (s *Server) annotationByID(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodPatch {
		methodNotAllowed(w)
		return
	}
	if !c.canWrite() {
		accessDenied(w, "annotations:write")
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var cmd annotationCommand
	if !decode(w, r, &cmd) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := c.org.annotations[id]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Could not find annotation to update"})
		return
	}
	if cmd.Time != 0 {
		a.Time = cmd.Time
	}
	if cmd.TimeEnd != 0 {
		a.TimeEnd = cmd.TimeEnd
	}
	if cmd.Text != nil {
		a.Text = *cmd.Text
	}
	if cmd.Tags != nil {
		a.Tags = cmd.Tags
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Annotation patched"})
}
