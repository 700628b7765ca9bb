package dashboards

import (
	"context"
	"fmt"
	"sort"

	"github.com/grafana/grafana-openapi-client-go/client/search"
	"github.com/grafana/grafana-openapi-client-go/models"
)

// ListOptions filter the boards List finds. Several tags must all match
// (Grafana's rule); several folders match any.
type ListOptions struct {
	Tags       []string
	FolderUIDs []string
	Query      string // part of the title
}

// Hit is one board found in Grafana.
type Hit struct {
	UID         string
	Title       string
	FolderUID   string // "" for the root (General) folder
	FolderTitle string
	Tags        []string
	URL         string
}

// searchPage is Grafana's default page size; its maximum is 5000.
const searchPage = 1000

type searchQuery struct {
	Query     string
	Type      string // dash-db or dash-folder
	Tags      []string
	FolderUID *string // nil: any folder
}

// List finds boards by tag, folder and title.
//
// The generated client joins several folderUIDs with commas into one
// parameter, which Grafana does not split (it wants the parameter
// repeated), so a search for two folders finds nothing. We send one search
// per folder instead and merge the hits.
func (c *Client) List(ctx context.Context, o ListOptions) ([]Hit, error) {
	queries := []searchQuery{{Query: o.Query, Type: "dash-db", Tags: o.Tags}}
	if len(o.FolderUIDs) > 0 {
		queries = queries[:0]
		for _, f := range o.FolderUIDs {
			queries = append(queries, searchQuery{Query: o.Query, Type: "dash-db", Tags: o.Tags, FolderUID: &f})
		}
	}
	seen := map[string]bool{}
	var out []Hit
	for _, q := range queries {
		hits, err := c.search(ctx, q, "searching boards")
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			if seen[h.UID] {
				continue
			}
			seen[h.UID] = true
			out = append(out, Hit{UID: h.UID, Title: h.Title, FolderUID: h.FolderUID, FolderTitle: h.FolderTitle, Tags: h.Tags, URL: c.link(h.URL)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].FolderTitle != out[j].FolderTitle {
			return out[i].FolderTitle < out[j].FolderTitle
		}
		return out[i].Title < out[j].Title
	})
	return out, nil
}

// maxSearchPages bounds a search, should a server ignore the page
// parameter and answer every page in full.
const maxSearchPages = 100

// search fetches every page of one search.
func (c *Client) search(ctx context.Context, q searchQuery, op string) ([]*models.Hit, error) {
	var all []*models.Hit
	for page := int64(1); ; page++ {
		if page > maxSearchPages {
			return nil, fmt.Errorf("%s: more than %d results; narrow the search", op, maxSearchPages*searchPage)
		}
		limit := int64(searchPage)
		params := search.NewSearchParamsWithTimeout(noCallDeadline).WithLimit(&limit).WithPage(&page)
		if q.Query != "" {
			params.SetQuery(&q.Query)
		}
		if q.Type != "" {
			params.SetType(&q.Type)
		}
		if len(q.Tags) > 0 {
			params.SetTag(q.Tags) // sent repeated: tag=a&tag=b
		}
		if q.FolderUID != nil {
			params.SetFolderUIDs([]string{*q.FolderUID}) // one value: nothing to join
		}
		ok, err := c.api.Search.Search(params, call(ctx, op))
		if err != nil {
			return nil, opError(op, err)
		}
		all = append(all, ok.Payload...)
		if len(ok.Payload) < searchPage {
			return all, nil
		}
	}
}
