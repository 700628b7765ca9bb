package grafanatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// orgStore is one organisation's content.
type orgStore struct {
	id          int64
	dashboards  map[string]*dashboard  // by uid
	folders     map[string]*folder     // by uid
	datasources map[string]*datasource // by uid
}

// org returns an organisation's store, creating it; the caller holds s.mu.
func (s *Server) org(id int64) *orgStore {
	if id == 0 {
		id = 1
	}
	o := s.orgs[id]
	if o == nil {
		o = &orgStore{id: id, dashboards: map[string]*dashboard{}, folders: map[string]*folder{}, datasources: map[string]*datasource{}}
		s.orgs[id] = o
	}
	return o
}

type dashboard struct {
	id                   int64
	uid, title           string
	folderUID            string
	version              int64
	data                 map[string]any
	tags                 []string
	provisioned          bool
	pluginID             string
	created, updated     time.Time
	createdBy, updatedBy string
	history              []Version
}

// Version is one saved version of a board.
type Version struct {
	Version int64
	Message string
}

// Dashboard is a stored board as tests see and seed it.
type Dashboard struct {
	UID, Title, FolderUID string
	ID, Version           int64
	// Model is the stored JSON (a copy), with id, uid and version as
	// Grafana injects them.
	Model       map[string]any
	Provisioned bool   // saved by file provisioning: API saves are refused
	PluginID    string // belongs to a plugin: saves without overwrite are refused
	Versions    []Version
	UpdatedBy   string
}

// Dashboard returns a stored board.
func (s *Server) Dashboard(orgID int64, uid string) (Dashboard, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.org(orgID).dashboards[uid]
	if !ok {
		return Dashboard{}, false
	}
	return d.public(), true
}

// Dashboards returns every stored board of an org.
func (s *Server) Dashboards(orgID int64) []Dashboard {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Dashboard
	for _, d := range s.org(orgID).dashboards {
		out = append(out, d.public())
	}
	return out
}

func (d *dashboard) public() Dashboard {
	return Dashboard{UID: d.uid, Title: d.title, FolderUID: d.folderUID, ID: d.id, Version: d.version,
		Model: deepCopy(d.storedJSON()), Provisioned: d.provisioned, PluginID: d.pluginID,
		Versions: append([]Version(nil), d.history...), UpdatedBy: d.updatedBy}
}

// AddDashboard stores a board as if saved earlier (version 1 unless set).
// Title and uid come from the model unless given.
func (s *Server) AddDashboard(orgID int64, d Dashboard) Dashboard {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.org(orgID)
	model := deepCopy(d.Model)
	if model == nil {
		model = map[string]any{}
	}
	if d.UID == "" {
		d.UID, _ = model["uid"].(string)
	}
	if d.UID == "" {
		d.UID = s.newUID()
	}
	if d.Title == "" {
		d.Title, _ = model["title"].(string)
	}
	if d.Version == 0 {
		d.Version = 1
	}
	now := time.Now()
	stored := &dashboard{id: s.newID(), uid: d.UID, title: d.Title, folderUID: d.FolderUID, version: d.Version,
		data: model, tags: stringList(model["tags"]), provisioned: d.Provisioned, pluginID: d.PluginID,
		created: now, updated: now, createdBy: "admin", updatedBy: "admin",
		history: []Version{{Version: d.Version, Message: "seeded"}}}
	o.dashboards[d.UID] = stored
	return stored.public()
}

// storedJSON is the board as GET returns it: the saved JSON with id, uid,
// title and version injected.
func (d *dashboard) storedJSON() map[string]any {
	out := deepCopy(d.data)
	out["id"], out["uid"], out["title"], out["version"] = d.id, d.uid, d.title, d.version
	return out
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	data, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// saveCommand is SaveDashboardCommand as Grafana binds it.
type saveCommand struct {
	Dashboard map[string]any `json:"dashboard"`
	FolderUID string         `json:"folderUid"`
	FolderID  int64          `json:"folderId"`
	Overwrite bool           `json:"overwrite"`
	Message   string         `json:"message"`
	IsFolder  bool           `json:"isFolder"`
}

func (s *Server) postDashboard(w http.ResponseWriter, r *http.Request, c *caller) {
	var cmd saveCommand
	if !decodeDashboardWrite(w, r, c, &cmd) {
		return
	}
	s.mu.Lock()
	status, body := s.save(c, cmd)
	s.mu.Unlock()
	writeJSON(w, status, body)
}

// decodeDashboardWrite checks what every dashboard write needs, in
// Grafana's order (method, permission, body), and decodes the body.
func decodeDashboardWrite(w http.ResponseWriter, r *http.Request, c *caller, v any) bool {
	if r.Method != http.MethodPost {
		methodNotAllowed(w)
		return false
	}
	if !c.canWrite() {
		accessDenied(w, "dashboards:create", "dashboards:write")
		return false
	}
	return decode(w, r, v)
}

func errBody(status, message string) map[string]any {
	b := map[string]any{"message": message}
	if status != "" {
		b["status"] = status
	}
	return b
}

// save applies Grafana's save rules in Grafana's order (GRAFANA-API.md
// §2.3); the caller holds s.mu.
func (s *Server) save(c *caller, cmd saveCommand) (int, map[string]any) {
	if cmd.IsFolder {
		return http.StatusBadRequest, errBody("", "Use folders endpoint for saving folders.")
	}
	dash := cmd.Dashboard
	if dash == nil {
		dash = map[string]any{}
	}
	title, _ := dash["title"].(string)
	title = strings.TrimSpace(title)
	switch {
	case title == "":
		return http.StatusBadRequest, errBody("empty-name", "Dashboard title cannot be empty")
	case len(title) > 5000:
		return http.StatusBadRequest, errBody("title-too-long", "Dashboard title cannot be longer than 5000 characters")
	}
	uid, _ := dash["uid"].(string)
	uid = strings.TrimSpace(uid)
	if msg := checkUID(uid); msg != "" {
		return http.StatusBadRequest, errBody("", msg)
	}
	if refresh, ok := dash["refresh"].(string); ok && refresh != "" {
		if d, ok := parseInterval(refresh); ok && d < s.opts.MinRefresh {
			if s.major() < 11 {
				return http.StatusBadRequest, errBody("", "Dashboard refresh interval is too low")
			}
			dash["refresh"] = formatInterval(s.opts.MinRefresh)
		}
	}
	o := c.org
	folderUID, status, body := s.resolveFolder(o, cmd)
	if status != 0 {
		return status, body
	}

	var existing *dashboard
	id := toInt(dash["id"])
	if id > 0 {
		existing = o.byID(id)
		if existing == nil {
			return http.StatusNotFound, errBody("not-found", "Dashboard not found")
		}
		if other, ok := o.dashboards[uid]; uid != "" && ok && other != existing {
			return http.StatusBadRequest, errBody("", "A dashboard with the same uid already exists")
		}
		if uid == "" {
			uid = existing.uid
		}
	} else if uid != "" {
		existing = o.dashboards[uid]
	}
	if _, isFolder := o.folders[uid]; uid != "" && isFolder {
		return http.StatusBadRequest, errBody("", "A folder with the same uid already exists")
	}
	if existing != nil {
		if toInt(dash["version"]) != existing.version && !cmd.Overwrite {
			return http.StatusPreconditionFailed, errBody("version-mismatch", "The dashboard has been changed by someone else")
		}
		if existing.pluginID != "" && !cmd.Overwrite {
			return http.StatusPreconditionFailed, errBody("plugin-dashboard", fmt.Sprintf("The dashboard belongs to plugin %s.", existing.pluginID))
		}
	}
	if s.major() < 13 {
		for _, other := range o.dashboards {
			if other != existing && other.folderUID == folderUID && strings.EqualFold(other.title, title) {
				if !cmd.Overwrite {
					return http.StatusPreconditionFailed, errBody("name-exists", "A dashboard with the same name in the folder already exists")
				}
				existing, uid = other, other.uid // overwrite takes the same-named board over
			}
		}
	}
	if existing != nil && existing.provisioned {
		return http.StatusBadRequest, errBody("", "Cannot save provisioned dashboard")
	}
	if !c.canWriteFolder(folderUID) || (existing != nil && !c.canWriteFolder(existing.folderUID)) {
		return http.StatusForbidden, errBody("", "Access denied to save dashboard")
	}

	now := time.Now()
	if existing == nil {
		if uid == "" {
			uid = s.newUID()
		}
		existing = &dashboard{id: s.newID(), uid: uid, created: now, createdBy: c.Login}
		o.dashboards[uid] = existing
	} else {
		existing.version++
		if existing.uid != uid { // id given with another uid: the board is renamed
			delete(o.dashboards, existing.uid)
			existing.uid = uid
			o.dashboards[uid] = existing
		}
	}
	if existing.version == 0 {
		existing.version = 1
	}
	data := deepCopy(dash)
	delete(data, "id")
	delete(data, "version")
	existing.title, existing.folderUID, existing.data = title, folderUID, data
	existing.tags = stringList(dash["tags"])
	existing.updated, existing.updatedBy = now, c.Login
	existing.history = append(existing.history, Version{Version: existing.version, Message: cmd.Message})
	return http.StatusOK, map[string]any{
		"status": "success", "slug": slugify(title), "version": existing.version, "id": existing.id,
		"uid": existing.uid, "url": dashboardURL(existing), "folderUid": folderUID,
	}
}

// resolveFolder finds the folder a save targets: folderUid, else (before
// Grafana 13) the deprecated folderId, else the root.
func (s *Server) resolveFolder(o *orgStore, cmd saveCommand) (string, int, map[string]any) {
	notFound := func() (string, int, map[string]any) {
		if s.major() < 11 {
			return "", http.StatusNotFound, errBody("not-found", "Folder not found")
		}
		return "", http.StatusBadRequest, errBody("", "folder not found")
	}
	switch {
	case cmd.FolderUID != "":
		if _, ok := o.folders[cmd.FolderUID]; !ok {
			return notFound()
		}
		return cmd.FolderUID, 0, nil
	case cmd.FolderID != 0 && s.major() < 13:
		for _, f := range o.folders {
			if f.id == cmd.FolderID {
				return f.uid, 0, nil
			}
		}
		return notFound()
	}
	return "", 0, nil
}

func (o *orgStore) byID(id int64) *dashboard {
	for _, d := range o.dashboards {
		if d.id == id {
			return d
		}
	}
	return nil
}

func dashboardURL(d *dashboard) string { return "/d/" + d.uid + "/" + slugify(d.title) }

func toInt(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return 0
}

func (s *Server) dashboardByUID(w http.ResponseWriter, r *http.Request, c *caller) {
	uid := r.PathValue("uid")
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := c.org.dashboards[uid]
	if !ok {
		writeJSON(w, http.StatusNotFound, errBody("not-found", "Dashboard not found"))
		return
	}
	switch r.Method {
	case http.MethodGet:
		f := c.org.folders[d.folderUID]
		meta := map[string]any{
			"type": "db", "isStarred": false, "slug": slugify(d.title), "url": dashboardURL(d),
			"canSave": c.canWriteFolder(d.folderUID), "canEdit": c.canWriteFolder(d.folderUID),
			"canAdmin": c.Role == Admin, "canDelete": c.canWriteFolder(d.folderUID), "canStar": true,
			"created": d.created.UTC().Format(time.RFC3339), "updated": d.updated.UTC().Format(time.RFC3339),
			"createdBy": d.createdBy, "updatedBy": d.updatedBy, "version": d.version,
			"hasAcl": false, "isFolder": false, "folderId": 0, "folderUid": d.folderUID,
			"folderTitle": "General", "folderUrl": "", "provisioned": d.provisioned,
			"provisionedExternalId": "", "publicDashboardEnabled": false,
			"annotationsPermissions": map[string]any{
				"dashboard":    map[string]any{"canAdd": true, "canEdit": true, "canDelete": true},
				"organization": map[string]any{"canAdd": false, "canEdit": false, "canDelete": false},
			},
		}
		if f != nil {
			meta["folderId"], meta["folderTitle"], meta["folderUrl"] = f.id, f.title, folderURL(f)
		}
		writeJSON(w, http.StatusOK, map[string]any{"dashboard": d.storedJSON(), "meta": meta})
	case http.MethodDelete:
		if !c.canWriteFolder(d.folderUID) {
			accessDenied(w, "dashboards:delete")
			return
		}
		if d.provisioned {
			writeJSON(w, http.StatusBadRequest, errBody("", "provisioned dashboard cannot be deleted"))
			return
		}
		delete(c.org.dashboards, uid)
		body := map[string]any{"title": d.title, "message": fmt.Sprintf("Dashboard %s deleted", d.title)}
		if s.major() < 13 {
			body["id"] = d.id
		}
		if s.major() >= 11 {
			body["uid"] = d.uid
		}
		writeJSON(w, http.StatusOK, body)
	default:
		methodNotAllowed(w)
	}
}

// importCommand is ImportDashboardRequest as Grafana binds it.
type importCommand struct {
	Dashboard map[string]any `json:"dashboard"`
	Overwrite bool           `json:"overwrite"`
	Inputs    []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
		Value    string `json:"value"`
	} `json:"inputs"`
	FolderUID string `json:"folderUid"`
	FolderID  int64  `json:"folderId"`
}

// importDashboard evaluates __inputs like Grafana's dashboard template
// evaluator, then saves like /api/dashboards/db.
func (s *Server) importDashboard(w http.ResponseWriter, r *http.Request, c *caller) {
	var cmd importCommand
	if !decodeDashboardWrite(w, r, c, &cmd) {
		return
	}
	dash := cmd.Dashboard
	if dash == nil {
		writeJSON(w, http.StatusBadRequest, errBody("", "Dashboard must be set"))
		return
	}
	values := map[string]string{}
	declared, _ := dash["__inputs"].([]any)
	for _, d := range declared {
		in, _ := d.(map[string]any)
		name, _ := in["name"].(string)
		kind, _ := in["type"].(string)
		found := false
		for _, given := range cmd.Inputs {
			if given.Type == kind && (given.Name == name || given.Name == "*") {
				values[name], found = given.Value, true
				if kind == "expression" {
					values[name] = "__expr__"
				}
			}
		}
		if !found {
			writeJSON(w, http.StatusBadRequest, errBody("", fmt.Sprintf("Dashboard input variable: %s missing from import command", name)))
			return
		}
	}
	delete(dash, "__inputs")
	delete(dash, "__requires")
	delete(dash, "__elements")
	substitute(dash, values)
	s.mu.Lock()
	status, body := s.save(c, saveCommand{Dashboard: dash, FolderUID: cmd.FolderUID, FolderID: cmd.FolderID, Overwrite: cmd.Overwrite, Message: "imported"})
	s.mu.Unlock()
	if status != http.StatusOK {
		writeJSON(w, status, body)
		return
	}
	slug, _ := body["slug"].(string)
	writeJSON(w, http.StatusOK, map[string]any{
		"uid": body["uid"], "title": dash["title"], "slug": slug, "importedUri": "db/" + slug,
		"importedUrl": body["url"], "imported": true, "dashboardId": body["id"], "folderUid": body["folderUid"],
		"revision": 1, "importedRevision": 1, "path": "", "pluginId": "", "removed": false,
	})
}

// substitute rewrites ${NAME} in every string of a JSON value, in place.
func substitute(v any, values map[string]string) any {
	switch x := v.(type) {
	case string:
		for name, value := range values {
			x = strings.ReplaceAll(x, "${"+name+"}", value)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = substitute(e, values)
		}
	case []any:
		for i, e := range x {
			x[i] = substitute(e, values)
		}
	}
	return v
}

// parseInterval reads Grafana's interval syntax (30s, 1m, 2h, 1d, 1w).
func parseInterval(s string) (time.Duration, bool) {
	units := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:i])
	unit, ok := units[s[i:]]
	if err != nil || !ok {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

func formatInterval(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
