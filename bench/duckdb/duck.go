package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

// duck runs the DuckDB side on one connection, so SET applies to the
// queries that follow it.
type duck struct {
	conn  *sql.Conn
	files string // a DuckDB list literal of the input files
}

func openDuck(ctx context.Context, files []string) (*duck, *sql.DB, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = sqlString(f)
	}
	d := &duck{conn: conn, files: "[" + strings.Join(quoted, ", ") + "]"}
	if _, err := conn.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return nil, nil, fmt.Errorf("duckdb: %w", err)
	}
	return d, db, nil
}

func (d *duck) setThreads(ctx context.Context, n int) error {
	_, err := d.conn.ExecContext(ctx, fmt.Sprintf("SET threads = %d", n))
	return err
}

// source reads the inputs as they are: no hive columns from the date=
// directories, no file name column.
func (d *duck) source() string {
	return "read_parquet(" + d.files + ", hive_partitioning = false)"
}

// aggregate is the two queries of the aggregate comparison.
func (d *duck) aggregate(ctx context.Context) (aggResult, error) {
	res := aggResult{SumByTyp: map[string]float64{}}
	err := d.conn.QueryRowContext(ctx, "SELECT count(*), count(DISTINCT event_id) FROM "+d.source()).Scan(&res.Rows, &res.Distinct)
	if err != nil {
		return res, fmt.Errorf("duckdb count: %w", err)
	}
	rows, err := d.conn.QueryContext(ctx, "SELECT event_type, sum(quantity) FROM "+d.source()+" GROUP BY event_type")
	if err != nil {
		return res, fmt.Errorf("duckdb group by: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ sql.NullString
		var sum sql.NullFloat64
		if err := rows.Scan(&typ, &sum); err != nil {
			return res, err
		}
		res.SumByTyp[typ.String] += sum.Float64
	}
	return res, rows.Err()
}

// validFilter is schema v1's validity rule (dataset.ValidateEvent) in SQL.
// One difference: DuckDB's trim removes spaces only, strings.TrimSpace all
// Unicode white space; generated ids have none.
func validFilter(minTime, maxTime time.Time) string {
	types := make([]string, len(dataset.EventTypes))
	for i, t := range dataset.EventTypes {
		types[i] = sqlString(string(t))
	}
	ts := func(t time.Time) string {
		return "TIMESTAMPTZ " + sqlString(t.UTC().Format("2006-01-02 15:04:05.999999")+"+00")
	}
	return strings.Join([]string{
		"trim(event_id) <> ''",
		"event_type IN (" + strings.Join(types, ", ") + ")",
		"event_time >= " + ts(minTime),
		"event_time < " + ts(maxTime),
		"isfinite(quantity) AND quantity >= 0",
		"isfinite(price) AND price >= 0",
	}, " AND ")
}

// ingestSpec is the query: filter, dedupe, one zstd file.
func (d *duck) ingestSpec(ctx context.Context, filter, out string) error {
	q := "COPY (SELECT DISTINCT ON (event_id) * FROM " + d.source() + " WHERE " + filter + ") TO " +
		sqlString(out) + " (FORMAT parquet, COMPRESSION zstd)"
	_, err := d.conn.ExecContext(ctx, q)
	return err
}

// ingestMatched also does what dataset.Ingest does beyond the spec query:
// one file per UTC day (PARTITION_BY), zstd at level 1 (Ingest's codec and
// level). Ingest keeps input order within a day and DuckDB's COPY its own
// order; neither sorts.
func (d *duck) ingestMatched(ctx context.Context, filter, outDir string) error {
	q := "COPY (SELECT *, strftime(event_time, '%Y-%m-%d') AS date FROM (SELECT DISTINCT ON (event_id) * FROM " +
		d.source() + " WHERE " + filter + ")) TO " + sqlString(outDir) +
		" (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARTITION_BY (date))"
	_, err := d.conn.ExecContext(ctx, q)
	return err
}

// countRows counts the rows of the Parquet files below glob.
func (d *duck) countRows(ctx context.Context, glob string) (int64, error) {
	var n int64
	err := d.conn.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+sqlString(glob)+", hive_partitioning = false)").Scan(&n)
	return n, err
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
