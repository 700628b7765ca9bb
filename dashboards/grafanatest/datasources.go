package grafanatest

import "net/http"

type datasource struct {
	id                  int64
	uid, name, typ, url string
	jsonData            map[string]any
}

// Datasource seeds a datasource (Type defaults to prometheus, URL to
// http://prometheus:9090). JSONData holds settings such as timeInterval,
// a Prometheus datasource's "Scrape interval".
type Datasource struct {
	UID, Name, Type, URL string
	JSONData             map[string]any
}

// AddDatasource stores a datasource as if created earlier.
func (s *Server) AddDatasource(orgID int64, d Datasource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.Type == "" {
		d.Type = "prometheus"
	}
	if d.URL == "" {
		d.URL = "http://prometheus:9090"
	}
	s.org(orgID).datasources[d.UID] = &datasource{id: s.newID(), uid: d.UID, name: d.Name, typ: d.Type, url: d.URL, jsonData: d.JSONData}
}

// full is GET /api/datasources/uid/{uid}'s body: the datasource without
// secrets (secureJsonFields only says which are set).
func (d *datasource) full(orgID int64) map[string]any {
	jsonData := d.jsonData
	if jsonData == nil {
		jsonData = map[string]any{}
	}
	return map[string]any{"id": d.id, "uid": d.uid, "orgId": orgID, "name": d.name, "type": d.typ, "typeName": d.typ,
		"typeLogoUrl": "public/app/plugins/datasource/" + d.typ + "/img/logo.svg", "access": "proxy", "url": d.url,
		"user": "", "database": "", "basicAuth": false, "basicAuthUser": "", "withCredentials": false,
		"isDefault": false, "jsonData": jsonData, "secureJsonFields": map[string]bool{},
		"version": 1, "readOnly": false}
}

// datasourceByUID is GET /api/datasources/uid/{uid}: datasources:read
// (Editor or Admin here), 404 "Data source not found".
func (s *Server) datasourceByUID(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	if !c.canWrite() {
		accessDenied(w, "datasources:read")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := c.org.datasources[r.PathValue("uid")]
	if !ok {
		writeJSON(w, http.StatusNotFound, errBody("", "Data source not found"))
		return
	}
	writeJSON(w, http.StatusOK, d.full(c.org.id))
}
