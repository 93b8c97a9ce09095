package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supplyline/supplyline/dataset"
)

// olistSampleDir is ../shared/data/olist-sample relative to the repository
// root, found from the test's directory; the test skips when it is absent.
func olistSampleDir(t *testing.T) string {
	t.Helper()
	dir := origDir
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("Olist sample: no go.mod above the test's directory, cannot find the repository root")
		}
		dir = parent
	}
	sample := filepath.Join(dir, "..", "shared", "data", "olist-sample")
	if _, err := os.Stat(filepath.Join(sample, dataset.OlistOrdersFile)); err != nil {
		t.Skipf("Olist sample absent (%v): put the Olist CSV files in %s to run this test", err, sample)
	}
	return sample
}

func readImportJSON(t *testing.T, dir string) dataset.ImportResult {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "import.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res dataset.ImportResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestImportOlistCommand(t *testing.T) {
	cases := []struct {
		name string
		in   func(*testing.T) string
		want []string
	}{
		{
			name: "fixture",
			in: func(t *testing.T) string {
				return olistFixture(t, filepath.Join(origDir, "..", "..", "dataset", "testdata", "olist-fixture"))
			},
			want: []string{
				"imported 5 of 9 orders (olist) as 16 events",
				"rejected 6 rows",
				"missing joins 4 orders (customer 3, items 2, payments 3)",
				"time-order violations 1 orders",
			},
		},
		{
			name: "real sample",
			in:   olistSampleDir,
			want: []string{"imported 4071 of 4071 orders (olist)", "rejected 0 rows", "missing joins 4071 orders", "time-order violations 58 orders"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, out := c.in(t), t.TempDir()
			var buf bytes.Buffer
			if err := Run(context.Background(), []string{"import", "olist", "--in", in, "--out", out}, &buf); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, buf.String())
				}
			}
			res := readImportJSON(t, out)
			for _, tc := range res.Tables {
				if tc.Rows != tc.Used+tc.Orphans+tc.Rejected {
					t.Errorf("import.json: table %+v does not reconcile", tc)
				}
			}
			if len(res.Tables) != 4 || res.RowsIn != res.Tables[0].Used+res.Tables[0].Rejected || res.Imported != res.Tables[0].Used {
				t.Errorf("import.json: rows in %d imported %d, tables %+v", res.RowsIn, res.Imported, res.Tables)
			}
			evs, err := dataset.ReadEvents(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(evs)) != res.Events || res.Events == 0 {
				t.Errorf("%d events in %s, import.json says %d", len(evs), out, res.Events)
			}
		})
	}
}

func TestImportMappedCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "sales.csv")
	csv := "txn,when,store,item,units,unit_price,till\n" +
		"T1,2024-02-01 09:00,S01,P001,2,3.5,till-1\n" +
		"T2,2024-02-01 10:30,S02,P002,1,4,till-2\n" +
		"T3,not a time,S02,P002,1,4,till-2\n"
	if err := os.WriteFile(in, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"name": "sales", "event_id": "txn",
		"event_time": {"column": "when", "formats": ["2006-01-02 15:04"]}, "event_type": {"value": "order_placed"},
		"order_id": "txn", "location": "store", "sku": "item", "quantity": "units", "price": "unit_price", "extras": ["*rest*"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"event_id": "id", "event_time": {"column": "when", "formats": ["dd.mm.yyyy"]},
		"event_type": {"column": "kind", "values": {"s": "sale"}}, "qty": "units"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		args    []string
		want    []string // in the output, or in the error when wantErr
		wantErr bool
	}{
		{name: "valid", args: []string{"--mapping", good, "--in", in, "--out", filepath.Join(dir, "out")},
			want: []string{"imported 2 of 3 rows (mapped:sales) as 2 events", "rejected 1 rows", "sales.csv"}},
		{name: "every mapping problem at once", args: []string{"--mapping", bad, "--in", in, "--out", filepath.Join(dir, "out2")}, wantErr: true,
			want: []string{
				`qty: unknown field`,
				`event_id: column "id" is not in the input header`,
				`event_time.formats[0]: "dd.mm.yyyy" is not a Go time layout`,
				`event_type: column "kind" is not in the input header`,
				`event_type.values["s"]: "sale" is not a schema v1 event type`,
			}},
		{name: "no mapping flag", args: []string{"--in", in, "--out", dir}, wantErr: true, want: []string{"--mapping required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Run(context.Background(), append([]string{"import", "mapped"}, c.args...), &buf)
			got := buf.String()
			if c.wantErr {
				if err == nil {
					t.Fatalf("no error; output %s", got)
				}
				got = err.Error()
			} else if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "out2")); !os.IsNotExist(err) {
		t.Errorf("an invalid mapping wrote output: %v", err)
	}
}

func TestImportUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"import", "excel", "--in", "x"}, `unknown source "excel"`},
		{[]string{"import", "olist"}, "--in and --out required"},
		{[]string{"import", "olist", "--in", "x"}, "--out required"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			err := Run(context.Background(), c.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want one containing %q", err, c.want)
			}
		})
	}
	var buf bytes.Buffer
	if err := Run(context.Background(), []string{"import"}, &buf); err != nil || !strings.Contains(buf.String(), "import mapped --mapping") {
		t.Errorf("import with no source: %v, %q", err, buf.String())
	}
}

// olistFixture lays out dataset's hand-written Olist fixture (stored under
// other names, so nothing looks like a copy of the shared data) under the
// Olist file names in a temporary directory.
func olistFixture(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	for name, table := range map[string]string{"orders.txt": dataset.OlistOrdersFile, "order_items.txt": dataset.OlistItemsFile,
		"order_payments.txt": dataset.OlistPaymentsFile, "customers.txt": dataset.OlistCustomersFile} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, table), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
