# Paydesk. Same build tags everywhere, or cgo recompiles SQLite each time.
export GOFLAGS := -tags=sqlite_fts5 -buildvcs=false
export CGO_ENABLED := 1
# SQLite without its memory statistics: they take one global lock on every allocation,
# and with it two searches at once ran slower than one (docs/benchmarks.md).
export CGO_CFLAGS := -O2 -g -DSQLITE_DEFAULT_MEMSTATUS=0

GO ?= go

.PHONY: run build test generate check-generated lint bench fuzz screenshots

## run: the embedded demo (SQLite file, demo payments, simulators, local OpenID provider)
run:
	$(GO) run ./cmd/paydesk demo

## build: the single binary in bin/
build:
	$(GO) build -o bin/paydesk ./cmd/paydesk

## test: every test, after checking generated files, formatting and static analysis.
## Both engines run: every package on SQLite, then the packages that touch the database
## again on PostgreSQL (storage/pgtest starts a private server; docs/testing.md)
test: check-generated lint
	$(GO) test -count=1 -timeout 9m ./...
	PAYDESK_TEST_ENGINE=postgres $(GO) test -count=1 -timeout 9m ./storage/... ./ops/... ./web/... ./cmd/...

## generate: regenerate templ components (the generated files are committed)
generate:
	$(GO) tool templ generate

## check-generated: fail if templ generate would change the committed files
check-generated:
	@tmp=$$(mktemp -d) && mkdir -p "$$tmp/views" && cp views/* "$$tmp/views/" && \
	$(GO) tool templ generate -path "$$tmp" >/dev/null 2>&1 && \
	if ! diff -r views "$$tmp/views" >/dev/null; then \
		echo "templ files are out of date: run 'make generate' and commit the result"; diff -r views "$$tmp/views" | head -20; rm -rf "$$tmp"; exit 1; \
	fi; rm -rf "$$tmp"

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## bench: Go benchmarks (one package at a time), then the load test of the running demo
## (docs/benchmarks.md; a million payments built once under $TMPDIR: PAYDESK_BENCH_PAYMENTS
## and PAYMENTS change the size)
bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -timeout 30m ./...
	scripts/load.sh

## fuzz: run each fuzz target longer than make test does (FUZZTIME=1m)
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "$$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

## screenshots: retake the README's screenshots (docs/screenshots) with the page sweep
screenshots:
	PAYDESK_README_SHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -timeout 15m -run '^TestSweepEveryPage$$' ./web
