package tokenize

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

// The build partitions events by entity into spill files on disk, so that
// it can render timelines that span any number of day files while holding
// only a bounded part of the input in memory.
//
// Every document key (Document.Key: "inv/<loc>/<sku>", "ord/<id>",
// "shp/<id>") has a 64-bit hash (keyHash: FNV-1a, then mixed), and the build writes documents in
// (hash, key, text) order. A bucket at level L holds the events of the keys
// whose hash starts with the bucket's L+1 six-bit digits: level 0 cuts the
// input into 64 buckets by the hash's first six bits, and a bucket over
// BuildConfig.MaxBucketBytes is cut again by the next six bits, and so on.
// Rendering the buckets that are not cut (the leaves) in digit order, and
// sorting each one's documents, gives the global order whatever the input
// size, the budget or the number of workers, so the output bytes depend on
// none of them.
//
// A spill file is a sequence of records: uvarint payload length, the key
// hash (8 bytes, little-endian), then the event (appendEvent).
const (
	spillFanout     = 64
	spillDigitBits  = 6
	spillMaxLevel   = 9 // 10 levels use 60 of the hash's 64 bits
	spillBufferSize = 32 << 10
)

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// keyHash is the hash of a document key.
func keyHash(key string) uint64 { return mix64(fnvString(fnvOffset, key)) }

// mix64 is MurmurHash3's 64-bit finalizer. FNV-1a alone mixes the last
// bytes of a key poorly into the top bits, which pick the buckets: keys
// that differ only at the end ("ord/O000123", "ord/O000124") would crowd
// into a few buckets.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// entityHash is keyHash of the key of the document e belongs to (of kind,
// from entityOf), without building the key.
func entityHash(e *dataset.Event, kind int) uint64 {
	h := uint64(fnvOffset)
	switch kind {
	case entityInventory:
		h = fnvString(h, "inv/")
		h = fnvString(h, e.Location)
		h = fnvString(h, "/")
		return mix64(fnvString(h, e.SKU))
	case entityJourney:
		h = fnvString(h, "ord/")
	default:
		h = fnvString(h, "shp/")
	}
	return mix64(fnvString(h, e.OrderID))
}

// digit is the bucket index of hash h at level.
func digit(h uint64, level int) int {
	return int(h>>(64-spillDigitBits*(level+1))) & (spillFanout - 1)
}

// spillBucket is one spill file.
type spillBucket struct {
	path  string
	size  int64
	level int
}

// spillSet writes the records of one level's 64 buckets, creating files as
// they are first needed.
type spillSet struct {
	dir, prefix string
	level       int
	files       [spillFanout]*os.File
	w           [spillFanout]*bufio.Writer
	size        [spillFanout]int64
}

func (s *spillSet) write(h uint64, rec []byte) error {
	d := digit(h, s.level)
	if s.w[d] == nil {
		f, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("%s-%02d.spill", s.prefix, d)))
		if err != nil {
			return err
		}
		s.files[d], s.w[d] = f, bufio.NewWriterSize(f, spillBufferSize)
	}
	n, err := s.w[d].Write(rec)
	s.size[d] += int64(n)
	return err
}

// close flushes and closes the files and returns the non-empty buckets in
// digit order.
func (s *spillSet) close() ([]spillBucket, error) {
	var out []spillBucket
	var first error
	for d, f := range s.files {
		if f == nil {
			continue
		}
		err := s.w[d].Flush()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil && first == nil {
			first = err
		}
		out = append(out, spillBucket{path: f.Name(), size: s.size[d], level: s.level})
	}
	return out, first
}

// abort closes and removes every file of s.
func (s *spillSet) abort() {
	for _, f := range s.files {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
}

// appendRecord appends the spill record of e (key hash h) to b; body is
// scratch space, returned for reuse.
func appendRecord(b, body []byte, h uint64, e *dataset.Event) (rec, scratch []byte) {
	body = binary.LittleEndian.AppendUint64(body[:0], h)
	body = appendEvent(body, e)
	b = binary.AppendUvarint(b, uint64(len(body)))
	return append(b, body...), body
}

// appendEvent appends e's fields; decodeEvent reads them back exactly
// (EventTime to the nanosecond, in UTC; Extras in map order, which no
// reader depends on).
func appendEvent(b []byte, e *dataset.Event) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(e.EventID)
	b = binary.AppendVarint(b, e.EventTime.Unix())
	b = binary.AppendUvarint(b, uint64(e.EventTime.Nanosecond()))
	str(e.EventType)
	str(e.OrderID)
	str(e.SKU)
	str(e.Location)
	str(e.Carrier)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Quantity))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Price))
	b = binary.AppendUvarint(b, uint64(len(e.Extras)))
	for k, v := range e.Extras {
		str(k)
		str(v)
	}
	return b
}

// spillDecoder decodes records, interning the strings that repeat across
// many events (types, locations, SKUs, carriers, extras keys) so that a
// bucket's events share them.
type spillDecoder struct {
	strs map[string]string
	b    []byte
	err  error
}

// errSpillFormat reports a spill file that does not decode: the build's
// own temporary files were damaged on disk.
var errSpillFormat = errors.New("tokenize: corrupt spill record")

func (d *spillDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *spillDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *spillDecoder) fixed() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *spillDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *spillDecoder) str() string { return string(d.bytes()) }

func (d *spillDecoder) intern() string {
	b := d.bytes()
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	d.strs[s] = s
	return s
}

func (d *spillDecoder) fail() {
	if d.err == nil {
		d.err = errSpillFormat
	}
	d.b = nil
}

// event decodes one event payload (after the hash).
func (d *spillDecoder) event(e *dataset.Event) {
	e.EventID = d.str()
	sec := d.varint()
	e.EventTime = time.Unix(sec, int64(d.uvarint())).UTC()
	e.EventType = d.intern()
	e.OrderID = d.str()
	e.SKU = d.intern()
	e.Location = d.intern()
	e.Carrier = d.intern()
	e.Quantity = math.Float64frombits(d.fixed())
	e.Price = math.Float64frombits(d.fixed())
	if n := d.uvarint(); n > uint64(len(d.b)) {
		d.fail()
	} else if n > 0 {
		e.Extras = make(map[string]string, n)
		for range n {
			k := d.intern()
			e.Extras[k] = d.str()
		}
	}
}

// readBucket reads a spill file's events, whole.
func readBucket(path string) ([]dataset.Event, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := &spillDecoder{strs: map[string]string{}}
	var evs []dataset.Event
	for len(raw) > 0 {
		n, w := binary.Uvarint(raw)
		if w <= 0 || n < 8 || n > uint64(len(raw)-w) {
			return nil, fmt.Errorf("%s: %w", path, errSpillFormat)
		}
		d.b = raw[w+8 : w+int(n)]
		raw = raw[w+int(n):]
		evs = append(evs, dataset.Event{})
		d.event(&evs[len(evs)-1])
		if d.err != nil || len(d.b) != 0 {
			return nil, fmt.Errorf("%s: %w", path, errSpillFormat)
		}
	}
	return evs, nil
}

// splitBucket cuts b into its children at the next level by copying its
// records, and removes b's file.
func splitBucket(ctx context.Context, b spillBucket) ([]spillBucket, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	base := filepath.Base(b.path)
	set := &spillSet{dir: filepath.Dir(b.path), prefix: base[:len(base)-len(".spill")], level: b.level + 1}
	r := bufio.NewReaderSize(f, spillBufferSize)
	var rec []byte
	for i := 0; ; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			set.abort()
			return nil, ctx.Err()
		}
		n, err := binary.ReadUvarint(r)
		if err == io.EOF {
			break
		}
		if err != nil || n < 8 || n > uint64(b.size) {
			set.abort()
			return nil, fmt.Errorf("%s: %w", b.path, errSpillFormat)
		}
		rec = binary.AppendUvarint(rec[:0], n)
		hdr := len(rec)
		rec = slices.Grow(rec, int(n))[:hdr+int(n)]
		if _, err := io.ReadFull(r, rec[hdr:]); err != nil {
			set.abort()
			return nil, fmt.Errorf("%s: %w", b.path, errSpillFormat)
		}
		if err := set.write(binary.LittleEndian.Uint64(rec[hdr:]), rec); err != nil {
			set.abort()
			return nil, err
		}
	}
	children, err := set.close()
	if err != nil {
		set.abort()
		return nil, err
	}
	f.Close()
	return children, os.Remove(b.path)
}
