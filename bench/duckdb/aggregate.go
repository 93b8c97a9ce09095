package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// aggResult is what both sides of the aggregate comparison compute.
type aggResult struct {
	Rows     int64
	Distinct int64
	SumByTyp map[string]float64
}

// aggColumns are the only columns the aggregate needs; both sides read
// just these.
var aggColumns = []string{"event_id", "event_type", "quantity"}

// The distinct count is exact and cache-friendly, the way a database's
// hash aggregate is: while reading, each worker appends every id's 64-bit
// hash and a reference to a copy of its bytes to one of 2^partitionBits
// partitions chosen by the hash's top bits; afterwards each partition is
// deduplicated on its own, in a table small enough to stay in cache, and a
// hash match is confirmed by comparing the bytes, so a collision never
// merges two ids.
const partitionBits = 8

// aggPartial is one worker's state.
type aggPartial struct {
	rows   int64
	parts  [1 << partitionBits]idList
	arena  arena
	sumTyp map[string]float64
	types  map[string]string // interned event types
}

// idList is one partition's share of a worker's ids.
type idList struct {
	hashes []uint64
	refs   []uint64 // arena references, see arena.add
}

// arena keeps copies of ids in large chunks, one allocation per chunk.
// A record is [len uint32][bytes]; a reference is chunk<<32 | offset.
type arena struct{ chunks [][]byte }

const arenaChunk = 1 << 22

func (a *arena) add(s string) uint64 {
	need := 4 + len(s)
	last := len(a.chunks) - 1
	if last < 0 || cap(a.chunks[last])-len(a.chunks[last]) < need {
		a.chunks = append(a.chunks, make([]byte, 0, max(arenaChunk, need)))
		last++
	}
	c := a.chunks[last]
	off := len(c)
	c = binary.LittleEndian.AppendUint32(c, uint32(len(s)))
	a.chunks[last] = append(c, s...)
	return uint64(last)<<32 | uint64(off)
}

func (a *arena) get(ref uint64) []byte {
	c := a.chunks[ref>>32]
	off := uint32(ref)
	n := binary.LittleEndian.Uint32(c[off:])
	return c[off+4 : off+4+n]
}

// goAggregate computes aggResult over files with GOMAXPROCS workers, one
// (file, row group) per task, then deduplicates the partitions, again over
// GOMAXPROCS workers.
func goAggregate(ctx context.Context, files []string) (aggResult, error) {
	type task struct {
		file string
		rg   int
	}
	var tasks []task
	for _, f := range files {
		pf, err := file.OpenParquetFile(f, false)
		if err != nil {
			return aggResult{}, err
		}
		for rg := range pf.NumRowGroups() {
			tasks = append(tasks, task{f, rg})
		}
		pf.Close()
	}

	workers := runtime.GOMAXPROCS(0)
	seed := maphash.MakeSeed()
	parts := make([]*aggPartial, workers)
	errs := make([]error, workers)
	next := make(chan task)
	var wg sync.WaitGroup
	for w := range workers {
		p := &aggPartial{sumTyp: map[string]float64{}, types: map[string]string{}}
		parts[w] = p
		wg.Go(func() {
			for t := range next {
				if errs[w] != nil {
					continue
				}
				errs[w] = aggregateRowGroup(ctx, t.file, t.rg, p, seed)
			}
		})
	}
	for _, t := range tasks {
		next <- t
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return aggResult{}, err
		}
	}

	res := aggResult{SumByTyp: map[string]float64{}}
	distinct := make([]int64, workers)
	for w := range workers {
		wg.Go(func() {
			var t distinctTable
			for p := w; p < 1<<partitionBits; p += workers {
				distinct[w] += t.count(parts, p)
			}
		})
	}
	wg.Wait()
	for w := range workers {
		res.Distinct += distinct[w]
	}
	for _, p := range parts {
		res.Rows += p.rows
		for k, v := range p.sumTyp {
			res.SumByTyp[k] += v
		}
	}
	return res, nil
}

// distinctTable counts the distinct ids of one partition at a time; its
// slots are reused from partition to partition.
type distinctTable struct {
	slots []distinctSlot
}

type distinctSlot struct {
	hash uint64
	ref  uint64 // worker<<56 | arena ref, plus 1<<55 so that 0 is empty
}

func (t *distinctTable) count(parts []*aggPartial, p int) int64 {
	n := 0
	for _, w := range parts {
		n += len(w.parts[p].hashes)
	}
	size := 1
	for size < 2*n {
		size *= 2
	}
	if cap(t.slots) < size {
		t.slots = make([]distinctSlot, size)
	}
	t.slots = t.slots[:size]
	clear(t.slots)
	mask := uint64(size - 1)
	var distinct int64
	for wi, w := range parts {
		l := &w.parts[p]
		for j, h := range l.hashes {
			ref := uint64(wi)<<56 | 1<<55 | l.refs[j]
			// The top bits chose the partition; the low bits pick the slot.
			for i := h & mask; ; i = (i + 1) & mask {
				s := &t.slots[i]
				if s.ref == 0 {
					s.hash, s.ref = h, ref
					distinct++
					break
				}
				if s.hash == h && string(parts[s.ref>>56].arena.get(s.ref&(1<<55-1))) == string(w.arena.get(l.refs[j])) {
					break
				}
			}
		}
	}
	return distinct
}

// aggregateRowGroup reads the three columns of one row group with arrow-go's
// column chunk readers rather than pqarrow: the aggregate needs no Arrow
// arrays, and ReadBatchInPage hands out ids that point into the decoded
// page, so the only copy of an id is the arena's.
func aggregateRowGroup(ctx context.Context, name string, rg int, p *aggPartial, seed maphash.Seed) error {
	pf, err := file.OpenParquetFile(name, false)
	if err != nil {
		return err
	}
	defer pf.Close()
	sc := pf.MetaData().Schema
	cols := make([]int, len(aggColumns))
	for i, c := range aggColumns {
		if cols[i] = sc.ColumnIndexByName(c); cols[i] < 0 {
			return fmt.Errorf("%s: no column %s", name, c)
		}
	}
	rgr := pf.RowGroup(rg)
	rows := rgr.NumRows()
	reader := func(i int) (file.ColumnChunkReader, int16, error) {
		cr, err := rgr.Column(cols[i])
		if err != nil {
			return nil, 0, fmt.Errorf("%s row group %d: %w", name, rg, err)
		}
		return cr, sc.Column(cols[i]).MaxDefinitionLevel(), nil
	}
	idR, idDef, err := reader(0)
	if err != nil {
		return err
	}
	typR, typDef, err := reader(1)
	if err != nil {
		return err
	}
	qtyR, qtyDef, err := reader(2)
	if err != nil {
		return err
	}
	ids, ok1 := idR.(*file.ByteArrayColumnChunkReader)
	typs, ok2 := typR.(*file.ByteArrayColumnChunkReader)
	qtys, ok3 := qtyR.(*file.Float64ColumnChunkReader)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("%s: want event_id and event_type byte arrays and quantity double", name)
	}

	const batch = 4096
	const shift = 64 - partitionBits
	vals := make([]parquet.ByteArray, batch)
	defs := make([]int16, batch)

	// Quantities first, one per row (NaN for null), so that types can be
	// matched to them by row whatever their page boundaries.
	qty := make([]float64, rows)
	qvalid := make([]bool, rows)
	dense := make([]float64, batch)
	for r := int64(0); r < rows; {
		n, nv, err := qtys.ReadBatch(min(batch, rows-r), dense, defs, nil)
		if err != nil {
			return fmt.Errorf("%s row group %d: quantity: %w", name, rg, err)
		}
		if n == 0 {
			return fmt.Errorf("%s row group %d: quantity: %d of %d rows", name, rg, r, rows)
		}
		for i, v := 0, 0; i < int(n); i++ {
			if qtyDef == 0 || defs[i] == qtyDef {
				qty[r+int64(i)], qvalid[r+int64(i)] = dense[v], true
				v++
			}
		}
		_ = nv
		r += n
	}

	var lastTyp string
	var lastSum float64
	have := false
	for r := int64(0); r < rows; {
		n, _, err := typs.ReadBatchInPage(min(batch, rows-r), vals, defs, nil)
		if err != nil {
			return fmt.Errorf("%s row group %d: event_type: %w", name, rg, err)
		}
		if n == 0 {
			return fmt.Errorf("%s row group %d: event_type: %d of %d rows", name, rg, r, rows)
		}
		for i, v := 0, 0; i < int(n); i++ {
			if typDef != 0 && defs[i] != typDef {
				continue
			}
			t := unsafe.String(unsafe.SliceData(vals[v]), len(vals[v]))
			v++
			if !qvalid[r+int64(i)] {
				continue
			}
			// Rows of one type come in runs often enough that keeping the
			// run's total spares most map lookups.
			if !have || t != lastTyp {
				if have {
					p.addTyp(lastTyp, lastSum)
				}
				lastTyp, lastSum, have = p.intern(t), 0, true
			}
			lastSum += qty[r+int64(i)]
		}
		r += n
	}
	if have {
		p.addTyp(lastTyp, lastSum)
	}

	for r := int64(0); r < rows; {
		n, _, err := ids.ReadBatchInPage(min(batch, rows-r), vals, defs, nil)
		if err != nil {
			return fmt.Errorf("%s row group %d: event_id: %w", name, rg, err)
		}
		if n == 0 {
			return fmt.Errorf("%s row group %d: event_id: %d of %d rows", name, rg, r, rows)
		}
		nv := int(n)
		if idDef != 0 {
			nv = 0
			for _, d := range defs[:n] {
				if d == idDef {
					nv++
				}
			}
		}
		// A null id counts as a row only.
		for _, b := range vals[:nv] {
			v := unsafe.String(unsafe.SliceData(b), len(b))
			h := maphash.String(seed, v)
			l := &p.parts[h>>shift]
			l.hashes = append(l.hashes, h)
			l.refs = append(l.refs, p.arena.add(v))
		}
		r += n
	}
	p.rows += rows
	return ctx.Err()
}

func (p *aggPartial) addTyp(t string, sum float64) {
	p.sumTyp[t] += sum
}

// intern returns a copy of t that outlives the page t points into.
func (p *aggPartial) intern(t string) string {
	if k, ok := p.types[t]; ok {
		return k
	}
	k := strings.Clone(t)
	p.types[k] = k
	return k
}
