# Supplyline. The two set-up commands are `make demo` and `make test`; each
# installs what it needs (scripts/setup.sh) and says so.
GO ?= go
BIN := bin

.PHONY: demo test build tools bench clean

demo: ## the main job: dev server + UI on :8233, worker, synthetic data, pipeline run, scorecard
	scripts/setup.sh demo
	$(MAKE) --no-print-directory build
	$(BIN)/supplyline demo

test: ## every test, the end-to-end one against a real Temporal dev server included
	scripts/test.sh

tools: ## install the Temporal CLI, versitygw, torch, OpenBLAS and docker-compose when absent
	scripts/setup.sh test

build: ## the CLI and the loader's C shared library, side by side in bin/
	CGO_ENABLED=1 $(GO) build -o $(BIN)/supplyline ./cmd/supplyline
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -o $(BIN)/libsupplyline_loader.so ./train/loader/capi

bench: ## benchmarks with their peers in the same run (see BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

.PHONY: bench-duckdb
bench-duckdb: ## ingest and a Parquet aggregate against DuckDB, same files, same run (own module: cgo; the first build takes minutes)
	cd bench/duckdb && CGO_ENABLED=1 $(GO) run . $(ARGS)

clean:
	rm -rf $(BIN) .run
