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
	annotations map[int64]*Annotation  // by id
}

// org returns an organisation's store, creating it; the caller holds s.mu.
func (s *Server) org(id int64) *orgStore {
	if id == 0 {
		id = 1
	}
	o := s.orgs[id]
	if o == nil {
		o = &orgStore{id: id, dashboards: map[string]*dashboard{}, folders: map[string]*folder{}, datasources: map[string]*datasource{}, annotations: map[int64]*Annotation{}}
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
	Provisioned bool // saved by file provisioning: API saves are refused
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
		Model: deepCopy(d.storedJSON()), Provisioned: d.provisioned,
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
		data: model, tags: stringList(model["tags"]), provisioned: d.Provisioned,
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

// saveCommand is the part of SaveDashboardCommand the client sends
// (folderId and isFolder are deprecated or for other callers).
type saveCommand struct {
	Dashboard map[string]any `json:"dashboard"`
	FolderUID string         `json:"folderUid"`
	Overwrite bool           `json:"overwrite"`
	Message   string         `json:"message"`
}

// postDashboard is POST /api/dashboards/db, checked in Grafana's order:
// method, permission (RBAC body), body (400 "bad request data"), then the
// save rules.
func (s *Server) postDashboard(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w)
		return
	}
	if !c.canWrite() {
		accessDenied(w, "dashboards:create", "dashboards:write")
		return
	}
	var cmd saveCommand
	if !decode(w, r, &cmd) {
		return
	}
	s.mu.Lock()
	status, body := s.save(c, cmd)
	s.mu.Unlock()
	writeJSON(w, status, body)
}

func errBody(status, message string) map[string]any {
	b := map[string]any{"message": message}
	if status != "" {
		b["status"] = status
	}
	return b
}

// save applies Grafana's save rules in Grafana's order (its dashboard
// service's BuildSaveDashboardCommand and ValidateDashboardBeforeSave): title,
// uid syntax, refresh minimum, folder, uid taken by a folder, version,
// unique title (before 13), file-provisioned board, folder permission. The
// client strips the numeric id, so the id rules are not reproduced. The
// caller holds s.mu.
func (s *Server) save(c *caller, cmd saveCommand) (int, map[string]any) {
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

	existing := o.dashboards[uid]
	if _, isFolder := o.folders[uid]; uid != "" && isFolder {
		return http.StatusBadRequest, errBody("", "A folder with the same uid already exists")
	}
	if existing != nil {
		if toInt(dash["version"]) != existing.version && !cmd.Overwrite {
			return http.StatusPreconditionFailed, errBody("version-mismatch", "The dashboard has been changed by someone else")
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

// resolveFolder finds the folder a save targets: folderUid, else the
// root. An unknown folder is 404 "Folder not found" before Grafana 11 and
// 400 "folder not found" since.
func (s *Server) resolveFolder(o *orgStore, cmd saveCommand) (string, int, map[string]any) {
	if cmd.FolderUID == "" {
		return "", 0, nil
	}
	if _, ok := o.folders[cmd.FolderUID]; !ok {
		if s.major() < 11 {
			return "", http.StatusNotFound, errBody("not-found", "Folder not found")
		}
		return "", http.StatusBadRequest, errBody("", "folder not found")
	}
	return cmd.FolderUID, 0, nil
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

// dashboardByUID is GET /api/dashboards/uid/{uid}: the stored JSON (id,
// uid, title and version injected) and its meta; 404 "Dashboard not found".
func (s *Server) dashboardByUID(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := c.org.dashboards[r.PathValue("uid")]
	if !ok {
		writeJSON(w, http.StatusNotFound, errBody("not-found", "Dashboard not found"))
		return
	}
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
	if f := c.org.folders[d.folderUID]; f != nil {
		meta["folderId"], meta["folderTitle"], meta["folderUrl"] = f.id, f.title, folderURL(f)
	}
	writeJSON(w, http.StatusOK, map[string]any{"dashboard": d.storedJSON(), "meta": meta})
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
