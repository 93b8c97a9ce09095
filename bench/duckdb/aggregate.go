package main

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
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

// aggPartial is one worker's state. Distinct ids are kept in shards by
// hash, so shard s of every worker can be merged by its own goroutine
// without overlap with the other shards.
type aggPartial struct {
	rows   int64
	ids    []map[string]struct{}
	sumTyp map[string]float64
	arena  arena
}

// arena copies ids out of Arrow buffers into large chunks, one allocation
// per chunk rather than per id. A string points into a chunk, which keeps
// the chunk alive; chunks are never resized, so the strings stay valid.
type arena struct{ buf []byte }

func (a *arena) clone(s string) string {
	if len(s) > cap(a.buf)-len(a.buf) {
		a.buf = make([]byte, 0, max(1<<20, len(s)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, s...)
	return unsafe.String(unsafe.SliceData(a.buf[n:]), len(s))
}

// goAggregate computes aggResult over files with GOMAXPROCS workers, one
// (file, row group) per task.
func goAggregate(ctx context.Context, files []string) (aggResult, error) {
	type task struct {
		file string
		rg   int
	}
	var tasks []task
	var total int64
	for _, f := range files {
		pf, err := file.OpenParquetFile(f, false)
		if err != nil {
			return aggResult{}, err
		}
		for rg := range pf.NumRowGroups() {
			tasks = append(tasks, task{f, rg})
		}
		total += pf.NumRows()
		pf.Close()
	}

	workers := runtime.GOMAXPROCS(0)
	// Each worker sees about total/workers rows spread over workers shards;
	// sizing the sets from the footers' row counts spares the rehashing.
	shardHint := int(total) / (workers * workers)
	seed := maphash.MakeSeed()
	parts := make([]*aggPartial, workers)
	errs := make([]error, workers)
	next := make(chan task)
	var wg sync.WaitGroup
	for w := range workers {
		p := &aggPartial{ids: make([]map[string]struct{}, workers), sumTyp: map[string]float64{}}
		for s := range p.ids {
			p.ids[s] = make(map[string]struct{}, shardHint)
		}
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
	for s := range workers {
		wg.Go(func() {
			merged := parts[0].ids[s]
			for _, p := range parts[1:] {
				for id := range p.ids[s] {
					merged[id] = struct{}{}
				}
			}
			distinct[s] = int64(len(merged))
		})
	}
	wg.Wait()
	for s := range workers {
		res.Distinct += distinct[s]
	}
	for _, p := range parts {
		res.Rows += p.rows
		for k, v := range p.sumTyp {
			res.SumByTyp[k] += v
		}
	}
	return res, nil
}

func aggregateRowGroup(ctx context.Context, name string, rg int, p *aggPartial, seed maphash.Seed) error {
	pf, err := file.OpenParquetFile(name, false)
	if err != nil {
		return err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	sc := pf.MetaData().Schema
	cols := make([]int, len(aggColumns))
	for i, c := range aggColumns {
		if cols[i] = sc.ColumnIndexByName(c); cols[i] < 0 {
			return fmt.Errorf("%s: no column %s", name, c)
		}
	}
	tbl, err := fr.ReadRowGroups(ctx, cols, []int{rg})
	if err != nil {
		return fmt.Errorf("%s row group %d: %w", name, rg, err)
	}
	defer tbl.Release()
	idx := func(c string) int { return tbl.Schema().FieldIndices(c)[0] }
	ids, typs, qtys := tbl.Column(idx("event_id")).Data(), tbl.Column(idx("event_type")).Data(), tbl.Column(idx("quantity")).Data()
	shards := uint64(len(p.ids))
	for ci, chunk := range ids.Chunks() {
		id, ok1 := chunk.(*array.String)
		typ, ok2 := typs.Chunk(ci).(*array.String)
		qty, ok3 := qtys.Chunk(ci).(*array.Float64)
		if !ok1 || !ok2 || !ok3 || id.Len() != typ.Len() || id.Len() != qty.Len() {
			return fmt.Errorf("%s: unexpected column types or chunking: %s", name, describe(tbl.Schema()))
		}
		p.rows += int64(id.Len())
		for i := range id.Len() {
			// Generated files have no nulls; a null counts as a row only.
			if id.IsValid(i) {
				v := id.Value(i)
				m := p.ids[maphash.String(seed, v)%shards]
				if _, seen := m[v]; !seen {
					m[p.arena.clone(v)] = struct{}{}
				}
			}
			if typ.IsValid(i) && qty.IsValid(i) {
				t := typ.Value(i)
				if _, ok := p.sumTyp[t]; !ok {
					t = strings.Clone(t)
				}
				p.sumTyp[t] += qty.Value(i)
			}
		}
	}
	return nil
}

func describe(sc *arrow.Schema) string {
	var b strings.Builder
	for i, f := range sc.Fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name + " " + f.Type.String())
	}
	return b.String()
}
