package collector

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// The exposition cache. With a thousand profiles, encoding and compressing
// their series on every scrape took 120-140 ms, though a profile's series
// change once per run, and the live ones only while it runs. The cache
// keeps each profile's series encoded (text and protobuf), and the encoded
// and gzipped series of blocks of profiles per metric family; a scrape
// encodes again only the profiles whose version moved (touch) or whose
// live series changed (profileObserver.changed), and compresses again only
// the blocks whose bytes changed. The response is then the fresh
// exposition of the other collectors followed by the cached blocks: a
// gzip stream may be several gzip members (RFC 1952), which Prometheus's
// and every other Go client's gzip reader read as one.

// blockSize is how many profiles share a cached, compressed block of a
// family: small enough that a run re-compresses little, large enough for
// gzip to find repetition.
const blockSize = 64

type format int

const (
	formatText format = iota
	formatProto
	formats
)

// exposition is the cache of one Runs.
type exposition struct {
	runs *Runs
	mu   sync.Mutex // one scrape updates the cache at a time
	// profiles by name: each one's series encoded per family.
	profiles map[string]*encodedProfile
	// names are the profiles in exposition order; blocks[i] holds
	// names[i*blockSize:(i+1)*blockSize].
	names  []string
	blocks []*block
	heads  map[string]*familyHead
	zpool  sync.Pool
}

type encodedProfile struct {
	version  uint64
	families map[string]*[formats][]byte // family name → samples per format
}

// familyHead is a family's HELP and TYPE, in text and as the protobuf
// fields that precede the metrics.
type familyHead struct {
	text, proto []byte
}

// block is the cached exposition of blockSize profiles per family and
// format, raw and gzipped.
type block struct {
	raw map[string]*[formats][]byte
	gz  map[string]*[formats][]byte
}

func newExposition(r *Runs) *exposition {
	return &exposition{runs: r, profiles: map[string]*encodedProfile{}, heads: map[string]*familyHead{}}
}

// update brings the cache up to date with the Runs; x.mu is held.
func (x *exposition) update() error {
	c := x.runs
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := c.profileNamesLocked()
	relaid := !slices.Equal(names, x.names)
	if relaid {
		x.names = names
		x.blocks = make([]*block, (len(names)+blockSize-1)/blockSize)
		for i := range x.blocks {
			x.blocks[i] = &block{raw: map[string]*[formats][]byte{}, gz: map[string]*[formats][]byte{}}
		}
		for p := range x.profiles {
			if _, ok := c.versions[p]; !ok && c.observers[p] == nil {
				delete(x.profiles, p)
			}
		}
	}
	for i, p := range names {
		enc := x.profiles[p]
		live := false
		if o := c.observers[p]; o != nil && o.dirty.Swap(false) {
			live = true
		}
		version := c.versions[p]
		if enc != nil && !live && enc.version == version && !relaid {
			continue
		}
		if enc == nil || live || enc.version != version {
			next, err := x.encodeProfile(p)
			if err != nil {
				return err
			}
			next.version = version
			b := x.blocks[i/blockSize]
			for name, f := range next.families {
				if enc == nil || !equalFormats(enc.families[name], f) {
					delete(b.raw, name)
					delete(b.gz, name)
				}
			}
			if enc != nil {
				for name := range enc.families {
					if next.families[name] == nil {
						delete(b.raw, name)
						delete(b.gz, name)
					}
				}
			}
			x.profiles[p] = next
		}
	}
	return nil
}

func equalFormats(a, b *[formats][]byte) bool {
	return a != nil && b != nil && bytes.Equal(a[formatText], b[formatText]) && bytes.Equal(a[formatProto], b[formatProto])
}

// encodeProfile encodes one profile's series; the Runs' lock is held.
func (x *exposition) encodeProfile(p string) (*encodedProfile, error) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(profileCollector{x.runs, p}); err != nil {
		return nil, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", p, err)
	}
	enc := &encodedProfile{families: make(map[string]*[formats][]byte, len(mfs))}
	var buf bytes.Buffer
	for _, mf := range mfs {
		name := mf.GetName()
		buf.Reset()
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			return nil, fmt.Errorf("profile %q: %w", p, err)
		}
		text := buf.Bytes()
		// HELP and TYPE are the family's, once in the exposition.
		headEnd := 0
		for headEnd < len(text) && text[headEnd] == '#' {
			headEnd += bytes.IndexByte(text[headEnd:], '\n') + 1
		}
		if x.heads[name] == nil {
			head, err := proto.Marshal(&dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit})
			if err != nil {
				return nil, err
			}
			x.heads[name] = &familyHead{text: bytes.Clone(text[:headEnd]), proto: head}
		}
		// The metrics of a family are a repeated field: the encodings of
		// families holding some of them concatenate to one holding all.
		metrics, err := proto.Marshal(&dto.MetricFamily{Metric: mf.Metric})
		if err != nil {
			return nil, err
		}
		enc.families[name] = &[formats][]byte{formatText: bytes.Clone(text[headEnd:]), formatProto: metrics}
	}
	return enc, nil
}

// profileCollector collects one profile's series; the Runs' lock is held.
type profileCollector struct {
	runs    *Runs
	profile string
}

func (profileCollector) Describe(chan<- *prometheus.Desc) {} // unchecked: the Runs' Describe is the checked one

func (pc profileCollector) Collect(ch chan<- prometheus.Metric) {
	pc.runs.collectProfile(pc.profile, func(m prometheus.Metric) { ch <- m })
}

// familyNames lists the families the cached profiles have, sorted.
func (x *exposition) familyNames() []string {
	names := make([]string, 0, len(x.heads))
	for name := range x.heads {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// blockBytes is a block's samples of a family in a format, raw or gzipped.
func (x *exposition) blockBytes(i int, family string, f format, gz bool) ([]byte, error) {
	b := x.blocks[i]
	raw := b.raw[family]
	if raw == nil {
		raw = &[formats][]byte{}
		b.raw[family] = raw
	}
	if raw[f] == nil {
		var out []byte
		end := min((i+1)*blockSize, len(x.names))
		for _, p := range x.names[i*blockSize : end] {
			if enc := x.profiles[p]; enc != nil {
				if fam := enc.families[family]; fam != nil {
					out = append(out, fam[f]...)
				}
			}
		}
		if out == nil {
			out = []byte{}
		}
		raw[f] = out
	}
	if !gz || len(raw[f]) == 0 {
		return raw[f], nil
	}
	z := b.gz[family]
	if z == nil {
		z = &[formats][]byte{}
		b.gz[family] = z
	}
	if z[f] == nil {
		var err error
		if z[f], err = x.gzip(raw[f]); err != nil {
			return nil, err
		}
	}
	return z[f], nil
}

func (x *exposition) gzip(p []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := x.gzipWriter(&buf)
	defer x.zpool.Put(w)
	if _, err := w.Write(p); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipWriter compresses at BestSpeed: CPU on a load generator's machine is
// worth more than bytes.
func (x *exposition) gzipWriter(w io.Writer) *gzip.Writer {
	if z, ok := x.zpool.Get().(*gzip.Writer); ok {
		z.Reset(w)
		return z
	}
	z, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	return z
}

// write writes the Runs' families in format f, gzipped or not.
func (x *exposition) write(w io.Writer, f format, gz bool) error {
	for _, name := range x.familyNames() {
		head := x.heads[name]
		var parts [][]byte
		size := 0
		for i := range x.blocks {
			raw, err := x.blockBytes(i, name, f, false)
			if err != nil {
				return err
			}
			size += len(raw)
			if gz {
				if raw, err = x.blockBytes(i, name, f, true); err != nil {
					return err
				}
			}
			if len(raw) > 0 {
				parts = append(parts, raw)
			}
		}
		if size == 0 {
			continue // no profile has the family any more
		}
		var prefix []byte
		switch f {
		case formatText:
			prefix = head.text
		case formatProto:
			// A delimited MetricFamily: its length, then its fields.
			prefix = binary.AppendUvarint(nil, uint64(len(head.proto)+size))
			prefix = append(prefix, head.proto...)
		}
		if gz {
			var err error
			if prefix, err = x.gzip(prefix); err != nil {
				return err
			}
		}
		if _, err := w.Write(prefix); err != nil {
			return err
		}
		for _, part := range parts {
			if _, err := w.Write(part); err != nil {
				return err
			}
		}
	}
	return nil
}

// Handler serves /metrics: the Runs' series from the cache, after the
// series of others (the registry of every other collector), in the text
// or protobuf format the scraper asks for, gzipped when it accepts gzip.
// The Runs must not be registered on others.
func (c *Runs) Handler(others prometheus.Gatherer, errorLog func(error)) http.Handler {
	x := c.cache
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		negotiated := expfmt.Negotiate(r.Header)
		f, ft := formatText, expfmt.NewFormat(expfmt.TypeTextPlain)
		if negotiated.FormatType() == expfmt.TypeProtoDelim {
			f, ft = formatProto, negotiated
		}
		mfs, err := others.Gather()
		if err != nil {
			errorLog(err)
			http.Error(w, "An error has occurred while gathering metrics:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		var own bytes.Buffer
		gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
		var out io.Writer = &own
		var z *gzip.Writer
		if gz {
			z = x.gzipWriter(&own)
			defer x.zpool.Put(z)
			out = z
		}
		enc := expfmt.NewEncoder(out, ft)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				errorLog(err)
				http.Error(w, "encoding metrics: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		if z != nil {
			if err := z.Close(); err != nil {
				errorLog(err)
				http.Error(w, "compressing metrics: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		if err := x.update(); err != nil {
			errorLog(err)
			http.Error(w, "An error has occurred while gathering metrics:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", string(ft))
		if gz {
			w.Header().Set("Content-Encoding", "gzip")
		}
		if _, err := w.Write(own.Bytes()); err != nil {
			return // the scraper went away
		}
		if err := x.write(w, f, gz); err != nil {
			errorLog(err)
		}
	})
}

// acceptsGzip reads an Accept-Encoding header: gzip, unless with q=0 (as
// the web package's gzip handler).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// DescribeOnly registers a collector's descriptions without its series:
// registered next to the others the Handler serves first, it lets the
// registry refuse a family name the Runs have too.
func DescribeOnly(c prometheus.Collector) prometheus.Collector { return describeOnly{c} }

type describeOnly struct{ c prometheus.Collector }

func (d describeOnly) Describe(ch chan<- *prometheus.Desc) { d.c.Describe(ch) }
func (describeOnly) Collect(chan<- prometheus.Metric)      {}
