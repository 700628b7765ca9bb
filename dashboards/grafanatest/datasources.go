package grafanatest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

type datasource struct {
	id                int64
	uid, name, typ    string
	access, url       string
	isDefault         bool
	basicAuth         bool
	basicAuthUser     string
	jsonData          map[string]any
	secureJSONFields  map[string]bool
	readOnly          bool
	version           int64
	secureJSONSecrets map[string]string // kept, never returned
}

// Datasource seeds a datasource. URL is where the proxy and /api/ds/query
// send queries, e.g. a real Prometheus started by the test.
type Datasource struct {
	UID, Name, Type, URL string
	IsDefault            bool
	ReadOnly             bool // provisioned: updates are refused
}

// AddDatasource stores a datasource as if created earlier.
func (s *Server) AddDatasource(orgID int64, d Datasource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.Type == "" {
		d.Type = "prometheus"
	}
	s.org(orgID).datasources[d.UID] = &datasource{id: s.newID(), uid: d.UID, name: d.Name, typ: d.Type, access: "proxy",
		url: d.URL, isDefault: d.IsDefault, readOnly: d.ReadOnly, jsonData: map[string]any{}, secureJSONFields: map[string]bool{}, version: 1}
}

func (d *datasource) listItem(orgID int64) map[string]any {
	return map[string]any{"id": d.id, "uid": d.uid, "orgId": orgID, "name": d.name, "type": d.typ, "typeName": d.typ,
		"typeLogoUrl": "public/app/plugins/datasource/" + d.typ + "/img/logo.svg", "access": d.access, "url": d.url,
		"user": "", "database": "", "basicAuth": d.basicAuth, "isDefault": d.isDefault, "jsonData": d.jsonData, "readOnly": d.readOnly}
}

func (d *datasource) full(orgID int64) map[string]any {
	m := d.listItem(orgID)
	m["basicAuthUser"], m["withCredentials"], m["secureJsonFields"], m["version"] = d.basicAuthUser, false, d.secureJSONFields, d.version
	return m
}

func canReadDatasources(c *caller) bool { return c.canWrite() }

func (s *Server) datasources(w http.ResponseWriter, r *http.Request, c *caller) {
	switch r.Method {
	case http.MethodGet:
		if !canReadDatasources(c) {
			accessDenied(w, "datasources:read")
			return
		}
		s.mu.Lock()
		var list []*datasource
		for _, d := range c.org.datasources {
			list = append(list, d)
		}
		s.mu.Unlock()
		sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
		out := []map[string]any{}
		for _, d := range list {
			out = append(out, d.listItem(c.org.id))
		}
		writeJSON(w, http.StatusOK, out)
	case http.MethodPost:
		if c.Role != Admin {
			accessDenied(w, "datasources:create")
			return
		}
		var cmd struct {
			Name           string            `json:"name"`
			Type           string            `json:"type"`
			Access         string            `json:"access"`
			URL            string            `json:"url"`
			UID            string            `json:"uid"`
			IsDefault      bool              `json:"isDefault"`
			BasicAuth      bool              `json:"basicAuth"`
			BasicAuthUser  string            `json:"basicAuthUser"`
			JSONData       map[string]any    `json:"jsonData"`
			SecureJSONData map[string]string `json:"secureJsonData"`
		}
		if !decode(w, r, &cmd) {
			return
		}
		if cmd.Name == "" || cmd.Type == "" {
			writeJSON(w, http.StatusBadRequest, errBody("", "bad request data"))
			return
		}
		if msg := checkUID(cmd.UID); msg != "" {
			writeJSON(w, http.StatusBadRequest, errBody("", msg))
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, d := range c.org.datasources {
			if d.name == cmd.Name {
				writeJSON(w, http.StatusConflict, errBody("", "data source with the same name already exists"))
				return
			}
		}
		if _, ok := c.org.datasources[cmd.UID]; cmd.UID != "" && ok {
			writeJSON(w, http.StatusConflict, errBody("", "data source with the same uid already exists"))
			return
		}
		if cmd.UID == "" {
			cmd.UID = s.newUID()
		}
		if cmd.JSONData == nil {
			cmd.JSONData = map[string]any{}
		}
		d := &datasource{id: s.newID(), uid: cmd.UID, name: cmd.Name, typ: cmd.Type, access: cmd.Access, url: cmd.URL,
			isDefault: cmd.IsDefault, basicAuth: cmd.BasicAuth, basicAuthUser: cmd.BasicAuthUser, jsonData: cmd.JSONData,
			secureJSONFields: map[string]bool{}, secureJSONSecrets: cmd.SecureJSONData, version: 1}
		for k := range cmd.SecureJSONData {
			d.secureJSONFields[k] = true
		}
		c.org.datasources[d.uid] = d
		writeJSON(w, http.StatusOK, map[string]any{"datasource": d.full(c.org.id), "id": d.id, "message": "Datasource added", "name": d.name})
	default:
		methodNotAllowed(w)
	}
}

func (s *Server) datasourceByUID(w http.ResponseWriter, r *http.Request, c *caller) {
	s.datasourceBy(w, r, c, func(d *datasource) bool { return d.uid == r.PathValue("uid") })
}

func (s *Server) datasourceByName(w http.ResponseWriter, r *http.Request, c *caller) {
	s.datasourceBy(w, r, c, func(d *datasource) bool { return d.name == r.PathValue("name") })
}

func (s *Server) datasourceBy(w http.ResponseWriter, r *http.Request, c *caller, match func(*datasource) bool) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	if !canReadDatasources(c) {
		accessDenied(w, "datasources:read")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range c.org.datasources {
		if match(d) {
			writeJSON(w, http.StatusOK, d.full(c.org.id))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, errBody("", "Data source not found"))
}

// lookupDatasource finds a datasource's URL by uid.
func (s *Server) lookupDatasource(c *caller, uid string) (*url.URL, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := c.org.datasources[uid]
	if !ok {
		return nil, false
	}
	u, err := url.Parse(d.url)
	return u, err == nil
}

// proxy forwards to the datasource's URL, as Grafana's datasource proxy
// does (datasources:query is granted to every role).
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, c *caller) {
	target, ok := s.lookupDatasource(c, r.PathValue("uid"))
	if !ok {
		writeJSON(w, http.StatusNotFound, errBody("", "Unable to find datasource"))
		return
	}
	rest := r.PathValue("rest")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = strings.TrimSuffix(target.Path, "/") + "/" + rest
			pr.Out.URL.RawPath = ""
			pr.Out.Header.Del("Authorization") // Grafana's own credentials never reach the datasource
			pr.Out.Header.Del("X-Grafana-Org-Id")
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeJSON(w, http.StatusBadGateway, errBody("", "Bad Gateway: "+err.Error()))
		},
	}
	rp.ServeHTTP(w, r)
}

// dsQuery runs Prometheus queries through the datasource's HTTP API and
// answers with data frames, the shape of Grafana's POST /api/ds/query.
func (s *Server) dsQuery(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w)
		return
	}
	var cmd struct {
		From    string `json:"from"`
		To      string `json:"to"`
		Queries []struct {
			RefID      string `json:"refId"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Expr       string `json:"expr"`
			Instant    bool   `json:"instant"`
			IntervalMs int64  `json:"intervalMs"`
		} `json:"queries"`
	}
	if !decode(w, r, &cmd) {
		return
	}
	from, errFrom := grafanaTime(cmd.From, time.Now().Add(-time.Hour))
	to, errTo := grafanaTime(cmd.To, time.Now())
	if errFrom != nil || errTo != nil {
		writeJSON(w, http.StatusBadRequest, errBody("", "invalid time range"))
		return
	}
	results := map[string]any{}
	status := http.StatusOK
	for _, q := range cmd.Queries {
		target, ok := s.lookupDatasource(c, q.Datasource.UID)
		if !ok {
			writeJSON(w, http.StatusNotFound, errBody("", "data source not found"))
			return
		}
		frames, err := promQuery(r, target, q.Expr, q.Instant, from, to, time.Duration(q.IntervalMs)*time.Millisecond)
		if err != nil {
			results[q.RefID] = map[string]any{"error": err.Error(), "status": http.StatusBadRequest}
			status = http.StatusBadRequest
			continue
		}
		results[q.RefID] = map[string]any{"status": http.StatusOK, "frames": frames}
	}
	writeJSON(w, status, map[string]any{"results": results})
}

// grafanaTime reads "now", "now-1h" or epoch milliseconds.
func grafanaTime(s string, def time.Time) (time.Time, error) {
	switch {
	case s == "":
		return def, nil
	case s == "now":
		return time.Now(), nil
	case strings.HasPrefix(s, "now-"):
		d, ok := parseInterval(strings.TrimPrefix(s, "now-"))
		if !ok {
			return time.Time{}, fmt.Errorf("bad relative time %q", s)
		}
		return time.Now().Add(-d), nil
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}

// promQuery asks a Prometheus and converts its answer to frames: one frame
// per series, a time field and a value field carrying the labels.
func promQuery(r *http.Request, base *url.URL, expr string, instant bool, from, to time.Time, step time.Duration) ([]any, error) {
	params := url.Values{"query": {expr}}
	path := "/api/v1/query_range"
	if instant {
		path = "/api/v1/query"
		params.Set("time", strconv.FormatInt(to.Unix(), 10))
	} else {
		if step <= 0 {
			step = 15 * time.Second
		}
		params.Set("start", strconv.FormatInt(from.Unix(), 10))
		params.Set("end", strconv.FormatInt(to.Unix(), 10))
		params.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	}
	u := *base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = params.Encode()
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("decoding Prometheus answer: %w", err)
	}
	if answer.Status != "success" {
		return nil, fmt.Errorf("%s", answer.Error)
	}
	frames := []any{}
	for _, series := range answer.Data.Result {
		points := series.Values
		if series.Value != nil {
			points = [][]any{series.Value}
		}
		var times []int64
		var values []any
		for _, p := range points {
			if len(p) != 2 {
				continue
			}
			ts, _ := p[0].(float64)
			s, _ := p[1].(string)
			v, err := strconv.ParseFloat(s, 64)
			times = append(times, int64(ts*1000))
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) { // JSON has no NaN; Grafana sends null
				values = append(values, nil)
			} else {
				values = append(values, v)
			}
		}
		frames = append(frames, map[string]any{
			"schema": map[string]any{"fields": []any{
				map[string]any{"name": "Time", "type": "time", "typeInfo": map[string]any{"frame": "time.Time"}},
				map[string]any{"name": "Value", "type": "number", "typeInfo": map[string]any{"frame": "float64"}, "labels": series.Metric},
			}},
			"data": map[string]any{"values": []any{times, values}},
		})
	}
	return frames, nil
}
