package dashboards

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/grafana/grafana-openapi-client-go/client/dashboards"
	"github.com/grafana/grafana-openapi-client-go/client/folders"
	"github.com/grafana/grafana-openapi-client-go/models"
	"github.com/prometheus/common/version"

	"github.com/perf-exporter/perf-exporter/config"
)

// The folder boards go to when the config names none.
const (
	DefaultFolderUID   = "perf-exporter"
	DefaultFolderTitle = "Performance"
)

// Folder is where boards are provisioned. An empty UID with a Title means
// "the root folder with this title, or a new one".
type Folder struct {
	UID   string
	Title string
}

// FolderFromConfig is the folder the grafana section names, or the default.
func FolderFromConfig(g *config.Grafana) Folder {
	if g == nil || (g.FolderUID == "" && g.Folder == "") {
		return Folder{UID: DefaultFolderUID, Title: DefaultFolderTitle}
	}
	return Folder{UID: g.FolderUID, Title: g.Folder}
}

// ProvisionOptions say where and how boards are saved.
type ProvisionOptions struct {
	Folder Folder
	// Overwrite replaces boards that differ from ours, whoever changed them.
	// Without it such boards are refused by Grafana (412) and reported,
	// which keeps edits made in Grafana; missing boards are still created.
	Overwrite bool
	// Message is the version message Grafana shows in the board's history.
	Message string
	// DryRun compares without writing anything, not even the folder.
	DryRun bool
}

// Outcome is what provisioning did to one board.
type Outcome string

// Outcomes of provisioning a board.
const (
	Created     Outcome = "created"
	Updated     Outcome = "updated"
	Unchanged   Outcome = "unchanged"
	WouldCreate Outcome = "would create"
	WouldUpdate Outcome = "would update"
)

// Result is one provisioned board.
type Result struct {
	UID     string
	Title   string
	Outcome Outcome
	Version int64  // Grafana's version after provisioning (0 in a dry run of a new board)
	URL     string // absolute link to the board
}

// Provision makes sure the folder exists and every board is in it with our
// content. A board whose stored content already equals ours (ids and
// versions aside) and that is in the folder is not written again, so
// provisioning on every start does not pile up versions. It stops at the
// first error, returning the boards done so far.
func (c *Client) Provision(ctx context.Context, boards []Board, opts ProvisionOptions) ([]Result, error) {
	if opts.Message == "" {
		opts.Message = "provisioned by perf-exporter " + version.Version
	}
	folder, err := c.EnsureFolder(ctx, opts.Folder, opts.DryRun)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, b := range boards {
		r, err := c.saveBoard(ctx, b, folder.UID, opts)
		if err != nil {
			return results, err
		}
		c.logger.Debug("Provisioned board", "uid", r.UID, "outcome", r.Outcome, "version", r.Version)
		results = append(results, r)
	}
	return results, nil
}

func (c *Client) saveBoard(ctx context.Context, b Board, folderUID string, opts ProvisionOptions) (Result, error) {
	uid := b.UID()
	if uid == "" {
		return Result{}, fmt.Errorf("board %q has no uid: provisioning needs one to find the board again", b.Name)
	}
	if b.Title() == "" {
		return Result{}, fmt.Errorf("board %q has no title", b.Name)
	}
	desired := withoutInstanceFields(b.Model)
	stored, err := c.getDashboard(ctx, uid)
	if err != nil && !IsStatus(err, http.StatusNotFound) {
		return Result{}, err
	}
	res := Result{UID: uid, Title: b.Title()}
	if stored != nil {
		meta := stored.Meta
		if meta == nil {
			meta = &models.DashboardMeta{}
		}
		res.Version, res.URL = meta.Version, c.link(meta.URL)
		current, _ := stored.Dashboard.(map[string]any)
		if meta.FolderUID == folderUID && reflect.DeepEqual(withoutInstanceFields(current), desired) {
			res.Outcome = Unchanged
			return res, nil
		}
	}
	if opts.DryRun {
		res.Outcome = WouldCreate
		if stored != nil {
			res.Outcome = WouldUpdate
		}
		return res, nil
	}
	cmd := &models.SaveDashboardCommand{Dashboard: desired, FolderUID: folderUID, Overwrite: opts.Overwrite, Message: opts.Message}
	params := dashboards.NewPostDashboardParamsWithTimeout(noCallDeadline).WithBody(cmd)
	op := fmt.Sprintf("saving board %q in folder %q", uid, folderUID)
	ok, err := c.api.Dashboards.PostDashboardWithParams(params, call(ctx, op))
	if err != nil {
		return Result{}, opError(op, err)
	}
	res.Outcome = Created
	if stored != nil {
		res.Outcome = Updated
	}
	// Grafana's answer to a save always carries the new version and the
	// board's URL; without them nothing says the board was stored.
	p := ok.Payload
	if p == nil || p.Version == nil || p.URL == nil || *p.Version < 1 {
		return Result{}, &APIError{Op: op, Status: ok.Code(), Message: "the answer lacks the saved board's version and URL, so nothing says the board was stored"}
	}
	res.Version, res.URL = *p.Version, c.link(*p.URL)
	return res, nil
}

// getDashboard fetches a board by uid; a missing board is a 404 APIError.
func (c *Client) getDashboard(ctx context.Context, uid string) (*models.DashboardFullWithMeta, error) {
	op := fmt.Sprintf("reading board %q", uid)
	params := dashboards.NewGetDashboardByUIDParamsWithTimeout(noCallDeadline).WithUID(uid)
	ok, err := c.api.Dashboards.GetDashboardByUIDWithParams(params, call(ctx, op))
	if err != nil {
		return nil, opError(op, err)
	}
	return ok.Payload, nil
}

// withoutInstanceFields is a dashboard model as it is compared and posted:
// without the numeric id and the version, which belong to one Grafana and
// would make Grafana answer 404 (an id from elsewhere) or 412 (a stale
// version). Values are normalised through JSON.
func withoutInstanceFields(model map[string]any) map[string]any {
	if model == nil {
		return nil
	}
	out := make(map[string]any, len(model))
	for k, v := range model {
		if k != "id" && k != "version" {
			out[k] = v
		}
	}
	if n, err := normalize(out); err == nil {
		return n
	}
	return out
}

// EnsureFolder returns the folder, creating it if missing (unless dryRun).
// A folder given by title only is looked up among the root folders first.
func (c *Client) EnsureFolder(ctx context.Context, f Folder, dryRun bool) (Folder, error) {
	if f.UID == "" {
		found, err := c.findFolderByTitle(ctx, f.Title)
		if err != nil || found.UID != "" {
			return found, err
		}
		f.UID = DefaultFolderUID
	}
	if f.Title == "" {
		f.Title = DefaultFolderTitle
	}
	existing, err := c.getFolder(ctx, f.UID)
	switch {
	case err == nil:
		return Folder{UID: existing.UID, Title: existing.Title}, nil
	case !IsStatus(err, http.StatusNotFound):
		return Folder{}, err
	case dryRun:
		return f, nil
	}
	op := fmt.Sprintf("creating folder %q (uid %q)", f.Title, f.UID)
	params := folders.NewCreateFolderParamsWithTimeout(noCallDeadline).WithBody(&models.CreateFolderCommand{UID: f.UID, Title: f.Title})
	if _, err := c.api.Folders.CreateFolderWithParams(params, call(ctx, op)); err != nil {
		// Someone (another replica) may have created it meanwhile.
		if again, err2 := c.getFolder(ctx, f.UID); err2 == nil {
			return Folder{UID: again.UID, Title: again.Title}, nil
		}
		if IsStatus(err, http.StatusConflict) {
			// Grafana refuses a second folder with the same title in one
			// place; say which folder is in the way and what to set.
			if other, err2 := c.titleTaken(ctx, f); err2 == nil && other.UID != "" {
				return Folder{}, fmt.Errorf("%w; %s", err, other.conflictHint())
			}
		}
		return Folder{}, opError(op, err)
	}
	c.logger.Info("Created Grafana folder", "uid", f.UID, "title", f.Title)
	return f, nil
}

// titleTaken finds a root folder that keeps f from being created: same
// title (Grafana compares titles without case on most databases), other
// uid. It returns the zero Folder when there is none.
func (c *Client) titleTaken(ctx context.Context, f Folder) (Folder, error) {
	hits, err := c.search(ctx, searchQuery{Query: f.Title, Type: "dash-folder"}, fmt.Sprintf("looking up folder %q", f.Title))
	if err != nil {
		return Folder{}, err
	}
	for _, h := range hits {
		if h.FolderUID == "" && h.UID != f.UID && strings.EqualFold(h.Title, f.Title) {
			return Folder{UID: h.UID, Title: h.Title}, nil
		}
	}
	return Folder{}, nil
}

// conflictHint says what to set when folder other (which exists) keeps
// the wanted one from being created.
func (other Folder) conflictHint() string {
	return fmt.Sprintf("a root folder titled %q already exists with uid %q: set grafana.folder_uid: %s (or --grafana.folder-uid %s) to provision into it, or grafana.folder to another title",
		other.Title, other.UID, other.UID, other.UID)
}

func (c *Client) getFolder(ctx context.Context, uid string) (*models.Folder, error) {
	op := fmt.Sprintf("reading folder %q", uid)
	params := folders.NewGetFolderByUIDParamsWithTimeout(noCallDeadline).WithFolderUID(uid)
	ok, err := c.api.Folders.GetFolderByUIDWithParams(params, call(ctx, op))
	if err != nil {
		return nil, opError(op, err)
	}
	return ok.Payload, nil
}

func (c *Client) findFolderByTitle(ctx context.Context, title string) (Folder, error) {
	hits, err := c.search(ctx, searchQuery{Query: title, Type: "dash-folder"}, fmt.Sprintf("looking up folder %q", title))
	if err != nil {
		return Folder{}, err
	}
	var found []Folder
	for _, h := range hits {
		if h.Title == title && h.FolderUID == "" {
			found = append(found, Folder{UID: h.UID, Title: h.Title})
		}
	}
	if len(found) > 1 {
		return Folder{}, fmt.Errorf("%d root folders are titled %q: set grafana.folder_uid to choose one", len(found), title)
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return Folder{}, nil
}
