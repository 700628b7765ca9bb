package grafanatest

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type folder struct {
	id                   int64
	uid, title           string
	version              int64
	created, updated     time.Time
	createdBy, updatedBy string
}

func folderURL(f *folder) string { return "/dashboards/f/" + f.uid + "/" + slugify(f.title) }

// AddFolder stores a folder as if created earlier.
func (s *Server) AddFolder(orgID int64, uid, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.org(orgID).folders[uid] = &folder{id: s.newID(), uid: uid, title: title, version: 1, created: now, updated: now, createdBy: "admin", updatedBy: "admin"}
}

// Folder tells whether a folder exists, and its title.
func (s *Server) Folder(orgID int64, uid string) (title string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.org(orgID).folders[uid]
	if !ok {
		return "", false
	}
	return f.title, true
}

func (s *Server) folderJSON(c *caller, f *folder) map[string]any {
	body := map[string]any{
		"id": f.id, "uid": f.uid, "orgId": c.org.id, "title": f.title, "url": folderURL(f),
		"hasAcl": false, "canSave": c.canWriteFolder(f.uid), "canEdit": c.canWriteFolder(f.uid),
		"canAdmin": c.Role == Admin, "canDelete": c.canWriteFolder(f.uid),
		"created": f.created.UTC().Format(time.RFC3339), "updated": f.updated.UTC().Format(time.RFC3339),
		"createdBy": f.createdBy, "updatedBy": f.updatedBy, "version": f.version,
	}
	return body
}

// folders is POST /api/folders, with what the client sends (uid and
// title; every folder is at the root). GET, the list, is not served: the
// client finds folders through search. 403 without folders:create; 400 for
// an empty title or a bad uid; 409 when the uid is taken, or when another
// folder has the same title (compared without case, as on MySQL): Grafana
// refuses two folders with one name in one place.
func (s *Server) folders(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w)
		return
	}
	if !c.canCreateFolders() {
		accessDenied(w, "folders:create")
		return
	}
	var cmd struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
	}
	if !decode(w, r, &cmd) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := c.org
	title := strings.TrimSpace(cmd.Title)
	if title == "" {
		writeJSON(w, http.StatusBadRequest, errBody("", "folder title cannot be empty"))
		return
	}
	if msg := checkUID(cmd.UID); msg != "" {
		writeJSON(w, http.StatusBadRequest, errBody("", msg))
		return
	}
	if _, ok := o.folders[cmd.UID]; cmd.UID != "" && ok {
		writeJSON(w, http.StatusConflict, errBody("", "a folder with the same uid already exists"))
		return
	}
	if _, ok := o.dashboards[cmd.UID]; cmd.UID != "" && ok {
		writeJSON(w, http.StatusConflict, errBody("", "a dashboard with the same uid already exists"))
		return
	}
	for _, f := range o.folders {
		if strings.EqualFold(f.title, title) {
			msg := "a folder with the same name already exists in the current location"
			if s.major() < 11 {
				msg = "a folder or dashboard in the general folder with the same name already exists"
			}
			writeJSON(w, http.StatusConflict, errBody("", msg))
			return
		}
	}
	uid := cmd.UID
	if uid == "" {
		uid = s.newUID()
	}
	now := time.Now()
	f := &folder{id: s.newID(), uid: uid, title: title, version: 1, created: now, updated: now, createdBy: c.Login, updatedBy: c.Login}
	o.folders[uid] = f
	writeJSON(w, http.StatusOK, s.folderJSON(c, f))
}

// folderByUID is GET /api/folders/{uid}; 404 "folder not found".
func (s *Server) folderByUID(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := c.org.folders[r.PathValue("uid")]
	if !ok {
		writeJSON(w, http.StatusNotFound, errBody("not-found", "folder not found"))
		return
	}
	writeJSON(w, http.StatusOK, s.folderJSON(c, f))
}

// search is GET /api/search with the parameters the client sends: query
// (title substring, without case), type (dash-db or dash-folder), tag
// (repeated; a hit needs every tag), folderUIDs (repeated, never
// comma-split; "" or "general" for the root), limit (over 5000: 422) and a
// 1-based page. Hits are sorted by title.
func (s *Server) search(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	q := r.URL.Query()
	limit, page := 1000, 1
	for name, dst := range map[string]*int{"limit": &limit, "page": &page} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				writeJSON(w, http.StatusBadRequest, errBody("", "bad request data"))
				return
			}
			*dst = n
		}
	}
	if limit > 5000 {
		writeJSON(w, http.StatusUnprocessableEntity, errBody("", "Limit is above maximum allowed (5000), use page"))
		return
	}
	query, kind, tags := strings.ToLower(q.Get("query")), q.Get("type"), q["tag"]
	inFolder := func(uid string) bool {
		return len(q["folderUIDs"]) == 0 || slices.Contains(q["folderUIDs"], uid) || (uid == "" && slices.Contains(q["folderUIDs"], "general"))
	}

	s.mu.Lock()
	o := c.org
	var hits []map[string]any
	if kind == "" || kind == "dash-folder" {
		for _, f := range o.folders {
			// Folders carry no tags, and all are at the root.
			if len(tags) > 0 || !strings.Contains(strings.ToLower(f.title), query) || !inFolder("") {
				continue
			}
			hits = append(hits, map[string]any{"id": f.id, "uid": f.uid, "orgId": o.id, "title": f.title, "uri": "db/" + slugify(f.title),
				"url": folderURL(f), "slug": slugify(f.title), "type": "dash-folder", "tags": []string{}, "isStarred": false, "sortMeta": 0})
		}
	}
	if kind == "" || kind == "dash-db" {
		for _, d := range o.dashboards {
			if !strings.Contains(strings.ToLower(d.title), query) || !inFolder(d.folderUID) || !hasAll(d.tags, tags) {
				continue
			}
			hit := map[string]any{"id": d.id, "uid": d.uid, "orgId": o.id, "title": d.title, "uri": "db/" + slugify(d.title),
				"url": dashboardURL(d), "slug": slugify(d.title), "type": "dash-db", "tags": append([]string{}, d.tags...), "isStarred": false, "sortMeta": 0}
			if f, ok := o.folders[d.folderUID]; ok {
				hit["folderId"], hit["folderUid"], hit["folderTitle"], hit["folderUrl"] = f.id, f.uid, f.title, folderURL(f)
			}
			hits = append(hits, hit)
		}
	}
	s.mu.Unlock()
	sort.Slice(hits, func(i, j int) bool {
		ti, tj := strings.ToLower(hits[i]["title"].(string)), strings.ToLower(hits[j]["title"].(string))
		if ti == tj {
			return hits[i]["uid"].(string) < hits[j]["uid"].(string)
		}
		return ti < tj
	})
	start := min((page-1)*limit, len(hits))
	end := min(start+limit, len(hits))
	writeJSON(w, http.StatusOK, append([]map[string]any{}, hits[start:end]...))
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
