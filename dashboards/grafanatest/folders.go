package grafanatest

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

type folder struct {
	id                   int64
	uid, title           string
	description          string
	parentUID            string
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
	if f.parentUID != "" {
		body["parentUid"] = f.parentUID
	}
	return body
}

func (s *Server) folders(w http.ResponseWriter, r *http.Request, c *caller) {
	switch r.Method {
	case http.MethodGet:
		parent := r.URL.Query().Get("parentUid")
		s.mu.Lock()
		var list []*folder
		for _, f := range c.org.folders {
			if f.parentUID == parent {
				list = append(list, f)
			}
		}
		s.mu.Unlock()
		sort.Slice(list, func(i, j int) bool { return list[i].title < list[j].title })
		out := []map[string]any{}
		for _, f := range list {
			item := map[string]any{"id": f.id, "uid": f.uid, "title": f.title}
			if f.parentUID != "" {
				item["parentUid"] = f.parentUID
			}
			out = append(out, item)
		}
		writeJSON(w, http.StatusOK, out)
	case http.MethodPost:
		if !c.canCreateFolders() {
			accessDenied(w, "folders:create")
			return
		}
		var cmd struct {
			UID         string `json:"uid"`
			Title       string `json:"title"`
			Description string `json:"description"`
			ParentUID   string `json:"parentUid"`
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
		if cmd.ParentUID != "" {
			if _, ok := o.folders[cmd.ParentUID]; !ok {
				writeJSON(w, http.StatusNotFound, errBody("not-found", "folder not found"))
				return
			}
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
			if f.parentUID == cmd.ParentUID && strings.EqualFold(f.title, title) {
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
		f := &folder{id: s.newID(), uid: uid, title: title, description: cmd.Description, parentUID: cmd.ParentUID,
			version: 1, created: now, updated: now, createdBy: c.Login, updatedBy: c.Login}
		o.folders[uid] = f
		writeJSON(w, http.StatusOK, s.folderJSON(c, f))
	default:
		methodNotAllowed(w)
	}
}

func (s *Server) folderByUID(w http.ResponseWriter, r *http.Request, c *caller) {
	uid := r.PathValue("uid")
	s.mu.Lock()
	defer s.mu.Unlock()
	o := c.org
	f, ok := o.folders[uid]
	if !ok {
		writeJSON(w, http.StatusNotFound, errBody("not-found", "folder not found"))
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.folderJSON(c, f))
	case http.MethodPut:
		if !c.canWriteFolder(uid) {
			accessDenied(w, "folders:write")
			return
		}
		var cmd struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Version     int64  `json:"version"`
			Overwrite   bool   `json:"overwrite"`
		}
		if !decode(w, r, &cmd) {
			return
		}
		if cmd.Version != f.version && !cmd.Overwrite {
			writeJSON(w, http.StatusPreconditionFailed, errBody("version-mismatch", "The folder has been changed by someone else"))
			return
		}
		if t := strings.TrimSpace(cmd.Title); t != "" {
			f.title = t
		}
		f.description = cmd.Description
		f.version++
		f.updated, f.updatedBy = time.Now(), c.Login
		writeJSON(w, http.StatusOK, s.folderJSON(c, f))
	case http.MethodDelete:
		if !c.canWriteFolder(uid) {
			accessDenied(w, "folders:delete")
			return
		}
		for duid, d := range o.dashboards {
			if d.folderUID == uid {
				delete(o.dashboards, duid)
			}
		}
		delete(o.folders, uid)
		body := map[string]any{"message": "Folder deleted", "title": f.title}
		if s.major() < 13 {
			body["id"] = f.id
		} else {
			body["uid"] = f.uid
		}
		writeJSON(w, http.StatusOK, body)
	default:
		methodNotAllowed(w)
	}
}

// search implements GET /api/search: every parameter repeated, never
// comma-split; tags AND; folderUIDs any, "" or "general" for the root.
func (s *Server) search(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	q := r.URL.Query()
	limit, page := 1000, 1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errBody("", "bad request data"))
			return
		}
		limit = n
	}
	if limit > 5000 {
		writeJSON(w, http.StatusUnprocessableEntity, errBody("", "Limit is above maximum allowed (5000), use page"))
		return
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, errBody("", "bad request data"))
			return
		}
		page = n
	}
	if (len(q["dashboardIds"]) > 0 && len(q["dashboardUIDs"]) > 0) || (len(q["folderIds"]) > 0 && len(q["folderUIDs"]) > 0) {
		writeJSON(w, http.StatusBadRequest, errBody("", "search supports UIDs or IDs, not both"))
		return
	}
	query := strings.ToLower(q.Get("query"))
	kind := q.Get("type")
	tags := q["tag"]
	folderFilter := q["folderUIDs"]
	uidFilter := q["dashboardUIDs"]

	s.mu.Lock()
	o := c.org
	var hits []map[string]any
	inFolder := func(uid string) bool {
		if len(folderFilter) == 0 {
			return true
		}
		for _, f := range folderFilter {
			if f == uid || (uid == "" && f == "general") {
				return true
			}
		}
		return false
	}
	listed := func(uid string) bool {
		if len(uidFilter) == 0 {
			return true
		}
		for _, u := range uidFilter {
			if u == uid {
				return true
			}
		}
		return false
	}
	if kind == "" || kind == "dash-folder" {
		for _, f := range o.folders {
			if len(tags) > 0 || !strings.Contains(strings.ToLower(f.title), query) || !inFolder(f.parentUID) || !listed(f.uid) {
				continue
			}
			hit := map[string]any{"id": f.id, "uid": f.uid, "orgId": o.id, "title": f.title, "uri": "db/" + slugify(f.title),
				"url": folderURL(f), "slug": slugify(f.title), "type": "dash-folder", "tags": []string{}, "isStarred": false, "sortMeta": 0}
			if p, ok := o.folders[f.parentUID]; ok {
				hit["folderId"], hit["folderUid"], hit["folderTitle"], hit["folderUrl"] = p.id, p.uid, p.title, folderURL(p)
			}
			hits = append(hits, hit)
		}
	}
	if kind == "" || kind == "dash-db" {
		for _, d := range o.dashboards {
			if !strings.Contains(strings.ToLower(d.title), query) || !inFolder(d.folderUID) || !listed(d.uid) || !hasAll(d.tags, tags) {
				continue
			}
			dtags := d.tags
			if dtags == nil {
				dtags = []string{}
			}
			hit := map[string]any{"id": d.id, "uid": d.uid, "orgId": o.id, "title": d.title, "uri": "db/" + slugify(d.title),
				"url": dashboardURL(d), "slug": slugify(d.title), "type": "dash-db", "tags": dtags, "isStarred": false, "sortMeta": 0}
			if f, ok := o.folders[d.folderUID]; ok {
				hit["folderId"], hit["folderUid"], hit["folderTitle"], hit["folderUrl"] = f.id, f.uid, f.title, folderURL(f)
			}
			hits = append(hits, hit)
		}
	}
	s.mu.Unlock()
	sort.SliceStable(hits, func(i, j int) bool {
		ti, tj := strings.ToLower(hits[i]["title"].(string)), strings.ToLower(hits[j]["title"].(string))
		if ti == tj {
			return hits[i]["uid"].(string) < hits[j]["uid"].(string)
		}
		if q.Get("sort") == "alpha-desc" {
			return ti > tj
		}
		return ti < tj
	})
	start := (page - 1) * limit
	if start > len(hits) {
		start = len(hits)
	}
	end := start + limit
	if end > len(hits) {
		end = len(hits)
	}
	out := hits[start:end]
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, out)
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
