package collector

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/perf-exporter/perf-exporter/internal/gzipneg"
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

// ProfileSeries is a collector whose every series is a profile's (the
// change-point tracker): the exposition cache serves its series too, and
// encodes a profile's again only when its version changes.
type ProfileSeries interface {
	// ProfileVersions calls fn with every profile that has series and a
	// number that changes whenever they do.
	ProfileVersions(fn func(profile string, version uint64))
	// CollectProfile emits one profile's series.
	CollectProfile(profile string, emit func(prometheus.Metric))
}

// exposition is the cache of one Runs (and its ProfileSeries).
type exposition struct {
	runs    *Runs
	sources []ProfileSeries
	mu      sync.Mutex // one scrape updates the cache at a time
	// profiles by name: whether each one's cached series are current.
	profiles map[string]*encodedProfile
	// names are the profiles in exposition order; blocks[i] holds
	// names[i*blockSize:(i+1)*blockSize].
	names  []string
	blocks []*block
	heads  map[string]*familyHead
	seed   maphash.Seed
	zpool  sync.Pool
	rpool  sync.Pool
}

type encodedProfile struct {
	versions []uint64 // the Runs' version, then each source's
	// fresh says the blocks hold the profile's current series in a
	// format.
	fresh [formats]bool
}

// stale marks the encoded samples out of date.
func (e *encodedProfile) stale() { e.fresh = [formats]bool{} }

// familyHead is a family's HELP and TYPE, in text and as the protobuf
// fields that precede the metrics.
type familyHead struct {
	text, proto []byte
}

// block is the gzipped exposition of blockSize profiles per family and
// format. Only the compressed bytes are kept: the uncompressed samples of
// 1 000 profiles in both formats were 9 MB, most of the cache. A profile
// whose samples changed leaves them pending; the next write unzips the
// block's family, splices them in and compresses it again (a block is a
// few kB: tens of microseconds).
type block struct {
	fams [formats]map[string]*blockFamily
}

// blockFamily is a block's samples of one family in one format.
type blockFamily struct {
	z    []byte // the samples, gzipped; nil when they are empty
	size int    // uncompressed (a protobuf family starts with its length)
	// lens and sums are each profile's samples' length and hash (0 when
	// it has none), by position in the block, as z holds them.
	lens []int
	sums []uint64
	// pending are the new samples of profiles by position, not yet in z.
	pending map[int][]byte
}

func newBlock() *block {
	b := &block{}
	for f := range b.fams {
		b.fams[f] = map[string]*blockFamily{}
	}
	return b
}

func newExposition(r *Runs) *exposition {
	return &exposition{runs: r, profiles: map[string]*encodedProfile{}, heads: map[string]*familyHead{}, seed: maphash.MakeSeed()}
}

// update brings the cache up to date in format f; x.mu is held.
func (x *exposition) update(f format) error {
	// The sources' versions are read before their series, so a change
	// between the two is encoded again at the next scrape.
	srcVersions := make(map[string][]uint64)
	for i, src := range x.sources {
		src.ProfileVersions(func(p string, v uint64) {
			vs := srcVersions[p]
			if vs == nil {
				vs = make([]uint64, len(x.sources))
				srcVersions[p] = vs
			}
			vs[i] = v
		})
	}
	c := x.runs
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := c.profileNamesLocked()
	for p := range srcVersions {
		if _, ok := slices.BinarySearch(names, p); !ok {
			names = append(names, p)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, x.names) {
		// Profiles move between blocks: every one is encoded again (a
		// reload touches every profile anyway).
		x.names = names
		x.blocks = make([]*block, (len(names)+blockSize-1)/blockSize)
		for i := range x.blocks {
			x.blocks[i] = newBlock()
		}
		for p, enc := range x.profiles {
			if _, ok := slices.BinarySearch(names, p); !ok {
				delete(x.profiles, p)
			}
			enc.stale()
		}
	}
	for i, p := range names {
		versions := make([]uint64, 1+len(x.sources))
		versions[0] = c.versions[p]
		copy(versions[1:], srcVersions[p])
		enc := x.profiles[p]
		switch {
		case enc == nil:
			enc = &encodedProfile{versions: versions}
			x.profiles[p] = enc
		case !slices.Equal(enc.versions, versions):
			enc.versions = versions
			enc.stale()
		}
		if o := c.observers[p]; o != nil && o.dirty.Swap(false) {
			enc.stale()
		}
		if enc.fresh[f] {
			continue
		}
		fams, err := x.encodeProfile(p, f)
		if err != nil {
			return err
		}
		b, pos := x.blocks[i/blockSize], i%blockSize
		n := min(blockSize, len(names)-i/blockSize*blockSize)
		for name, frag := range fams {
			bf := b.fams[f][name]
			if bf == nil {
				bf = &blockFamily{lens: make([]int, n), sums: make([]uint64, n)}
				b.fams[f][name] = bf
			}
			bf.set(pos, frag, x.sum(frag))
		}
		for name, bf := range b.fams[f] {
			if _, ok := fams[name]; !ok {
				bf.set(pos, nil, 0)
			}
		}
		enc.fresh[f] = true
	}
	return nil
}

// sum hashes a profile's samples of a family; 0 is no samples.
func (x *exposition) sum(frag []byte) uint64 {
	if len(frag) == 0 {
		return 0
	}
	return maphash.Bytes(x.seed, frag) | 1
}

// set makes frag (hashed sum) the samples at pos, if they changed.
func (bf *blockFamily) set(pos int, frag []byte, sum uint64) {
	if bf.sums[pos] == sum {
		return
	}
	bf.sums[pos] = sum
	if bf.pending == nil {
		bf.pending = map[int][]byte{}
	}
	bf.pending[pos] = frag
}

// encodeProfile encodes one profile's series in format f; the Runs' lock
// is held.
func (x *exposition) encodeProfile(p string, f format) (map[string][]byte, error) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(profileCollector{x, p}); err != nil {
		return nil, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", p, err)
	}
	out := make(map[string][]byte, len(mfs))
	var buf bytes.Buffer
	for _, mf := range mfs {
		name := mf.GetName()
		if x.heads[name] == nil {
			buf.Reset()
			if _, err := expfmt.MetricFamilyToText(&buf, &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit, Metric: mf.Metric[:1]}); err != nil {
				return nil, fmt.Errorf("profile %q: %w", p, err)
			}
			head, err := proto.Marshal(&dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit})
			if err != nil {
				return nil, err
			}
			text := buf.Bytes()
			x.heads[name] = &familyHead{text: bytes.Clone(text[:headLength(text)]), proto: head}
		}
		switch f {
		case formatText:
			buf.Reset()
			if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
				return nil, fmt.Errorf("profile %q: %w", p, err)
			}
			text := buf.Bytes()
			// HELP and TYPE are the family's, once in the exposition.
			out[name] = bytes.Clone(text[headLength(text):])
		case formatProto:
			// The metrics of a family are a repeated field: the encodings
			// of families holding some of them concatenate to one holding
			// all.
			metrics, err := proto.Marshal(&dto.MetricFamily{Metric: mf.Metric})
			if err != nil {
				return nil, err
			}
			out[name] = metrics
		}
	}
	return out, nil
}

// headLength is the length of the comment lines (HELP, TYPE) that start a
// family's text.
func headLength(text []byte) int {
	n := 0
	for n < len(text) && text[n] == '#' {
		n += bytes.IndexByte(text[n:], '\n') + 1
	}
	return n
}

// profileCollector collects one profile's series; the Runs' lock is held.
type profileCollector struct {
	x       *exposition
	profile string
}

func (profileCollector) Describe(chan<- *prometheus.Desc) {} // unchecked: the collectors' own Describe are the checked ones

func (pc profileCollector) Collect(ch chan<- prometheus.Metric) {
	emit := func(m prometheus.Metric) { ch <- m }
	pc.x.runs.collectProfile(pc.profile, emit)
	for _, src := range pc.x.sources {
		src.CollectProfile(pc.profile, emit)
	}
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

// blockGzip is a block's samples of a family in format f, gzipped (nil
// z when it has none), with the pending samples spliced in.
func (x *exposition) blockGzip(i int, family string, f format) (z []byte, size int, err error) {
	bf := x.blocks[i].fams[f][family]
	if bf == nil {
		return nil, 0, nil
	}
	if len(bf.pending) == 0 {
		return bf.z, bf.size, nil
	}
	raw, err := x.gunzip(bf.z, bf.size)
	if err != nil {
		return nil, 0, fmt.Errorf("cached %s: %w", family, err)
	}
	out := make([]byte, 0, bf.size)
	off := 0
	for pos, n := range bf.lens {
		frag := raw[off : off+n]
		off += n
		if next, ok := bf.pending[pos]; ok {
			frag = next
			bf.lens[pos] = len(next)
		}
		out = append(out, frag...)
	}
	bf.pending = nil
	bf.z, bf.size = nil, len(out)
	if len(out) > 0 {
		if bf.z, err = x.gzip(out); err != nil {
			return nil, 0, err
		}
	}
	return bf.z, bf.size, nil
}

// gunzip is the inverse of gzip, for a size known in advance.
func (x *exposition) gunzip(z []byte, size int) ([]byte, error) {
	if len(z) == 0 {
		return nil, nil
	}
	r, ok := x.rpool.Get().(*gzip.Reader)
	if ok {
		if err := r.Reset(bytes.NewReader(z)); err != nil {
			return nil, err
		}
	} else {
		var err error
		if r, err = gzip.NewReader(bytes.NewReader(z)); err != nil {
			return nil, err
		}
	}
	defer x.rpool.Put(r)
	out := make([]byte, size)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, err
	}
	return out, nil
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

// write writes the cached families in format f, gzipped or not.
func (x *exposition) write(w io.Writer, f format, gz bool) error {
	for _, name := range x.familyNames() {
		head := x.heads[name]
		var parts [][]byte
		size := 0
		for i := range x.blocks {
			part, n, err := x.blockGzip(i, name, f)
			if err != nil {
				return err
			}
			if !gz {
				// Rare: Prometheus always asks for gzip.
				if part, err = x.gunzip(part, n); err != nil {
					return err
				}
			}
			size += n
			if len(part) > 0 {
				parts = append(parts, part)
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
//
// sources are other collectors of per-profile series the cache serves
// too; they must not be registered on others either (DescribeOnly).
// Handler is called once, when the daemon is wired.
func (c *Runs) Handler(others prometheus.Gatherer, errorLog func(error), sources ...ProfileSeries) http.Handler {
	x := c.cache
	x.sources = sources
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		negotiated := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
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
		gz := gzipneg.Accepts(r.Header.Get("Accept-Encoding"))
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
		if err := x.update(f); err != nil {
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

// DescribeOnly registers a collector's descriptions without its series:
// registered next to the others the Handler serves first, it lets the
// registry refuse a family name the Runs have too.
func DescribeOnly(c prometheus.Collector) prometheus.Collector { return describeOnly{c} }

type describeOnly struct{ c prometheus.Collector }

func (d describeOnly) Describe(ch chan<- *prometheus.Desc) { d.c.Describe(ch) }
func (describeOnly) Collect(chan<- prometheus.Metric)      {}

// retained is the bytes of encoded series the cache holds.
func (x *exposition) retained() int {
	n := 0
	for _, b := range x.blocks {
		for f := range b.fams {
			for _, bf := range b.fams[f] {
				n += len(bf.z) + 16*len(bf.lens)
				for _, frag := range bf.pending {
					n += len(frag)
				}
			}
		}
	}
	return n
}
