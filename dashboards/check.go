package dashboards

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/grafana/grafana-openapi-client-go/client/datasources"
	"github.com/grafana/grafana-openapi-client-go/client/health"
)

// Finding is one line of a connectivity check.
type Finding struct {
	Problem bool // false: an informational line
	Text    string
}

func (f Finding) String() string {
	if f.Problem {
		return "problem: " + f.Text
	}
	return "ok: " + f.Text
}

// Check tests what provisioning needs without changing anything: Grafana
// answers and is healthy, the credentials are accepted, the folder can be
// written (or will be created), and the datasource exists and is a
// Prometheus. One finding per line; a fatal problem ends the check.
func (c *Client) Check(ctx context.Context, folder Folder, datasourceUID string) []Finding {
	var out []Finding
	ok := func(format string, args ...any) { out = append(out, Finding{Text: fmt.Sprintf(format, args...)}) }
	problem := func(format string, args ...any) {
		out = append(out, Finding{Problem: true, Text: fmt.Sprintf(format, args...)})
	}

	op := "checking health"
	h, err := c.api.Health.GetHealthWithParams(health.NewGetHealthParamsWithTimeout(noCallDeadline), call(ctx, op))
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable:
		problem("Grafana at %s is unhealthy (503): its database check fails", c.URL())
	case errors.As(err, &apiErr):
		// It answered, so it is reachable; the answer itself is wrong.
		problem("Grafana at %s: %v", c.URL(), err)
		return out
	case err != nil:
		problem("cannot reach Grafana at %s: %v", c.URL(), err)
		return out
	default:
		ok("Grafana %s at %s is healthy (database %s)", cmp.Or(h.Payload.Version, "(version hidden)"), c.URL(), cmp.Or(h.Payload.Database, "unknown"))
	}

	if folder.UID == "" {
		found, err := c.findFolderByTitle(ctx, folder.Title)
		if err != nil {
			problem("%v", err)
			return out
		}
		ok("credentials accepted")
		if found.UID == "" {
			ok("no root folder is titled %q yet: provisioning creates it with uid %q (needs folders:create)", folder.Title, DefaultFolderUID)
		}
		folder = found
	}
	if folder.UID != "" {
		f, err := c.getFolder(ctx, folder.UID)
		switch {
		case IsStatus(err, http.StatusNotFound):
			ok("credentials accepted")
			// Provisioning creates the folder at the root with this title;
			// Grafana refuses it (409) if another root folder has the title.
			wanted := folder
			if wanted.Title == "" {
				wanted.Title = DefaultFolderTitle
			}
			other, err := c.titleTaken(ctx, wanted)
			switch {
			case err != nil:
				problem("%v", err)
			case other.UID != "":
				problem("folder %q does not exist and provisioning cannot create it with title %q: %s", folder.UID, wanted.Title, other.conflictHint())
			default:
				ok("folder %q does not exist yet: provisioning creates it (needs folders:create)", folder.UID)
			}
		case IsStatus(err, http.StatusUnauthorized):
			problem("%v", err)
			return out
		case err != nil:
			problem("%v", err)
		default:
			ok("credentials accepted")
			if f.CanSave || f.CanEdit {
				ok("may save boards in folder %q (%s)", f.Title, f.UID)
			} else {
				problem("may not save boards in folder %q (%s): give the service account the Editor role or edit permission on the folder", f.Title, f.UID)
			}
		}
	}

	if datasourceUID == "" {
		ok("no grafana.datasource_uid: boards use the default Prometheus datasource until one is picked")
		return out
	}
	op = fmt.Sprintf("reading datasource %q", datasourceUID)
	params := datasources.NewGetDataSourceByUIDParamsWithTimeout(noCallDeadline).WithUID(datasourceUID)
	ds, err := c.api.Datasources.GetDataSourceByUIDWithParams(params, call(ctx, op))
	switch {
	case IsStatus(err, http.StatusNotFound):
		problem("datasource %q does not exist: set grafana.datasource_uid to the uid of the Prometheus that scrapes perf-exporter", datasourceUID)
	case IsStatus(err, http.StatusForbidden):
		ok("cannot read datasource %q (needs datasources:read), which provisioning does not need", datasourceUID)
	case err != nil:
		problem("%v", err)
	case ds.Payload.Type != "prometheus":
		problem("datasource %q (%s) is of type %q, not prometheus", datasourceUID, ds.Payload.Name, ds.Payload.Type)
	default:
		ok("datasource %q (%s) is a Prometheus", datasourceUID, ds.Payload.Name)
	}
	return out
}
