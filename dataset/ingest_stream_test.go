package dataset_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/parquet-go/parquet-go"

	"github.com/supplyline/supplyline/dataset"
)

// writeRowGroups writes rows as a Parquet file with rowGroup rows per row group.
func writeRowGroups(t *testing.T, path string, rows []dataset.Event, rowGroup int64) {
	t.Helper()
	writeRows(t, path, rows, parquet.MaxRowsPerRowGroup(rowGroup), parquet.Compression(&parquet.Snappy))
}

// messyInputs writes three files of many small row groups whose rows hop
// between days, repeat ids within and across files (with a different
// quantity each time, to tell which copy won) and include invalid rows.
// It returns the events Ingest must accept, in input order.
func messyInputs(t *testing.T, dir string) (want []dataset.Event) {
	t.Helper()
	seen := map[string]bool{}
	for f := range 3 {
		var rows []dataset.Event
		for i := range 3000 {
			id := fmt.Sprintf("id-%d", (i*7+f*1000)%5000) // repeats within and across files
			e := dataset.Event{
				EventID:   id,
				EventTime: time.Date(2024, 5, 1+(i*13+f)%9, i%24, 0, 0, i*1000, time.UTC),
				EventType: string(dataset.EventTypes[i%len(dataset.EventTypes)]),
				SKU:       "P" + strconv.Itoa(i%17),
				Quantity:  float64(f*10000 + i),
				Extras:    map[string]string{"k": strconv.Itoa(i % 5)},
			}
			if i%97 == 5 {
				e.Price = -1 // quarantined
			}
			rows = append(rows, e)
			if e.Price >= 0 && !seen[id] {
				seen[id] = true
				want = append(want, e)
			}
		}
		writeRowGroups(t, filepath.Join(dir, fmt.Sprintf("in-%d.parquet", f)), rows, 250)
	}
	return want
}

func TestIngestSameOutputForAnyWorkers(t *testing.T) {
	defer dataset.SetTaskRows(1)() // every row group a task of its own
	ctx := context.Background()
	in := t.TempDir()
	want := messyInputs(t, in)

	var first dataset.IngestManifest
	var firstQuarantine []byte
	for _, workers := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			out := t.TempDir()
			m := ingest(t, dataset.IngestConfig{Inputs: []string{in}, OutDir: out, Workers: workers})
			q, err := os.ReadFile(filepath.Join(out, m.Quarantine))
			if err != nil {
				t.Fatal(err)
			}
			if workers == 1 {
				first, firstQuarantine = m, q
				if m.Accepted != int64(len(want)) || m.RowsIn != 9000 || !m.Reconciles || m.Duplicates == 0 || m.Quarantined == 0 {
					t.Fatalf("rows_in %d accepted %d (want %d) duplicates %d quarantined %d", m.RowsIn, m.Accepted, len(want), m.Duplicates, m.Quarantined)
				}
				// The first valid copy of each id, in input order, is the one kept.
				got, err := dataset.ReadEvents(ctx, out)
				if err != nil {
					t.Fatal(err)
				}
				byID := map[string]dataset.Event{}
				for _, e := range got {
					byID[e.EventID] = e
				}
				for _, e := range want {
					g, ok := byID[e.EventID]
					if !ok || g.Quantity != e.Quantity || !g.EventTime.Equal(e.EventTime) || g.Extras["k"] != e.Extras["k"] {
						t.Fatalf("%s: kept %+v, want %+v", e.EventID, g, e)
					}
				}
				return
			}
			if m.ContentHash != first.ContentHash || !reflect.DeepEqual(m.Files, first.Files) ||
				m.Accepted != first.Accepted || m.Duplicates != first.Duplicates || m.Quarantined != first.Quarantined {
				t.Errorf("differs from workers=1: hash %s vs %s, accepted %d vs %d", m.ContentHash, first.ContentHash, m.Accepted, first.Accepted)
			}
			if !bytes.Equal(q, firstQuarantine) {
				t.Error("quarantine bytes differ from workers=1")
			}
		})
	}
}

// corruptRowGroup overwrites the page header of row group rg's first column.
func corruptRowGroup(t *testing.T, path string, rg int) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	md, err := pf.MetaData().RowGroup(rg).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	off := md.DataPageOffset()
	pf.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 24), off); err != nil {
		t.Fatal(err)
	}
}

// A file whose third row group is corrupt is a bad file as a whole: the
// rows of its good row groups are not written, not counted, and do not
// make later rows with their ids duplicates.
func TestIngestCorruptRowGroupTakesBackFile(t *testing.T) {
	defer dataset.SetTaskRows(1)() // row groups 0 and 1 commit before 2 fails
	ctx := context.Background()
	in, out := t.TempDir(), t.TempDir()
	var a, b []dataset.Event
	for i := range 1000 {
		a = append(a, goodEvent(fmt.Sprintf("a-%d", i), i%3))
	}
	for i := range 100 {
		b = append(b, goodEvent(fmt.Sprintf("a-%d", i), 4)) // ids that a.parquet's good row groups also have
	}
	pa, pb := filepath.Join(in, "a.parquet"), filepath.Join(in, "b.parquet")
	writeRowGroups(t, pa, a, 200)
	writeRowGroups(t, pb, b, 200)
	corruptRowGroup(t, pa, 2)

	for _, workers := range []int{1, 4} {
		m, err := dataset.Ingest(ctx, dataset.IngestConfig{Inputs: []string{in}, OutDir: out, Workers: workers})
		var bf *dataset.BadFilesError
		if !errors.As(err, &bf) || len(bf.Files) != 1 || bf.Files[0].File != pa {
			t.Fatalf("workers=%d: err = %v, want a BadFilesError naming %s", workers, err, pa)
		}
		if m.RowsIn != 100 || m.Accepted != 100 || m.Duplicates != 0 || !m.Reconciles || len(m.Inputs) != 1 || m.Inputs[0].File != pb {
			t.Errorf("workers=%d: rows_in %d accepted %d duplicates %d inputs %v; want b.parquet's 100 rows only",
				workers, m.RowsIn, m.Accepted, m.Duplicates, m.Inputs)
		}
		events, err := dataset.ReadEvents(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 100 || len(m.Files) != 1 || !strings.Contains(m.Files[0], "date=2024-03-05") {
			t.Errorf("workers=%d: %d events in %v, want b.parquet's 100 on 2024-03-05", workers, len(events), m.Files)
		}
	}
}

// TestIngestPeakRSSBounded ingests a world and one four times its size in
// child processes and checks that peak RSS grows by far less per extra row
// than holding the rows would take (~850 bytes a row before ingest
// streamed): what may grow is the deduplication set, ~60 bytes a row.
func TestIngestPeakRSSBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("generates ~1M events")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	ctx := context.Background()
	peak := func(days int) (rows int64, kb int64) {
		world := filepath.Join(t.TempDir(), "world")
		sum, err := dataset.Generate(ctx, dataset.GenConfig{Seed: 7, Days: days, Stores: 20, SKUs: 50, EcomOrdersPerDay: 500}, world)
		if err != nil {
			t.Fatal(err)
		}
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run=^TestBenchPeakRSSHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), rssHelperEnv+"=ingest", rssInEnv+"="+world, rssOutEnv+"="+filepath.Join(t.TempDir(), "out"), "GOMAXPROCS=2")
		stdout, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, stdout)
		}
		for line := range strings.Lines(string(stdout)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "VmHWM-kB: "); ok {
				kb, err = strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return sum.Events, kb
			}
		}
		t.Fatalf("child printed no VmHWM:\n%s", stdout)
		return 0, 0
	}
	smallRows, smallKB := peak(21)
	bigRows, bigKB := peak(84)
	perRow := float64(bigKB-smallKB) * 1024 / float64(bigRows-smallRows)
	t.Logf("peak RSS %d MiB for %d rows, %d MiB for %d rows: %.0f bytes per extra row", smallKB>>10, smallRows, bigKB>>10, bigRows, perRow)
	if perRow > 250 {
		t.Errorf("peak RSS grows by %.0f bytes per input row; want at most 250 (the dedupe set's ~60 plus slack)", perRow)
	}
}
