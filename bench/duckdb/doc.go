// Command duckdb compares dataset.Ingest and a Go Parquet aggregation with
// DuckDB on the same generated files, in the same process and the same run,
// so the ratios hold on a shared, noisy machine.
//
// It lives in its own module so that DuckDB (cgo and a large static
// library) stays out of the core go.mod. Run it with `make bench-duckdb`
// from the repository root, or `go run . -h` here for the flags.
//
// Two comparisons, each at 1 thread and at 2 (DuckDB `SET threads`, Go
// GOMAXPROCS):
//
//   - aggregate: count rows, count distinct event_id and sum quantity per
//     event_type. Ours reads only those three columns with arrow-go's
//     pqarrow, one (file, row group) per task over GOMAXPROCS workers.
//     DuckDB runs `SELECT count(*), count(DISTINCT event_id)` and a
//     `GROUP BY event_type`, two queries.
//   - ingest: read, apply schema v1's validity filter, dedupe by event_id,
//     write Parquet. Ours is dataset.Ingest (streaming, GOMAXPROCS workers,
//     one zstd part per day and input file). DuckDB runs `COPY (SELECT
//     DISTINCT ON (event_id) ... WHERE <filter>) TO ... (COMPRESSION zstd)`
//     ("spec", the query, one file at DuckDB's default zstd level)
//     and a variant that also partitions by day at zstd level 1, as Ingest
//     writes ("matched").
//
// The Go side of the aggregate reads with arrow-go's column chunk readers
// and counts distinct ids exactly: hashes are radix-partitioned while
// reading and each partition is deduplicated in a cache-sized table, a
// hash match being confirmed by comparing the id bytes.
package main
