# Parley — make help lists the targets.
GO        ?= go
BIN       := bin
# FUZZTIME is a duration, or a run count such as 200000x.
FUZZTIME  ?= 30s
BENCHTIME ?= 2s
BENCHCOUNT ?= 5
# VERSION is what parley version prints; the build info adds the revision.
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# staticcheck runs at a pinned version through go run: nothing to install.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/parley and bin/fakecarrier
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/parley ./cmd/parley
	$(GO) build -o $(BIN)/fakecarrier ./cmd/fakecarrier

.PHONY: run
run: build ## serve Parley on SQLite with the fake carrier and a demo channel (see README)
	scripts/run-demo.sh

# The race detector turns on checkptr everywhere; in the pure-Go SQLite
# (C translated to Go, unsafe by design) it checks nothing of ours and more
# than doubles the cost of every SQLite test.
TESTFLAGS ?= -race -gcflags='modernc.org/sqlite/...=-d=checkptr=0'

.PHONY: test
test: ## run every test with the race detector, on SQLite and PostgreSQL
	scripts/ensure-postgres.sh
	$(GO) test $(TESTFLAGS) -count=1 -timeout=30m ./...
	@# The recogniser's measured recall and false flags on its corpus (issue 21).
	@$(GO) test -count=1 -run 'TestRevocationCorpus$$' -v ./optout | grep -E 'recall .*false flags'

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

.PHONY: fuzz
fuzz: ## run every fuzz test (each func Fuzz… of every package) for FUZZTIME each (default 30s)
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for target in $$($(GO) test -list '^Fuzz' $$dir | grep '^Fuzz'); do \
			echo "== $$dir $$target"; \
			$(GO) test $$dir -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=1s; \
		done; \
	done

.PHONY: bench
bench: ## a short run of every measurement (ingest vs. its floor, inbox lists, campaigns, dispatch vs. the carrier, rate accuracy, reports), printing JSON lines
	scripts/bench.sh

.PHONY: bench-go
bench-go: ## the Go benchmarks of the ingest path on SQLite and PostgreSQL, BENCHCOUNT runs each (compare medians)
	scripts/ensure-postgres.sh
	$(GO) test ./gateway -run='^$$' -bench=InboundWebhook -benchtime=$(BENCHTIME) -count=$(BENCHCOUNT)
	$(GO) test ./store -run='^$$' -bench=Ingest -benchtime=$(BENCHTIME) -count=$(BENCHCOUNT)

.PHONY: bench-webhooks
bench-webhooks: ## outbound webhook deliveries a second to a local receiver on SQLite and PostgreSQL, 3 runs each
	scripts/ensure-postgres.sh
	$(GO) test ./store -run='^$$' -bench=WebhookDelivery -benchtime=1x -count=3

.PHONY: screenshots
screenshots: ## retake the web inbox's pictures in docs/screenshots (needs chromium)
	PARLEY_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test ./cmd/parley -run '^TestWebScreenshots$$' -count=1

.PHONY: clean
clean: ## remove build output and the demo database
	rm -rf $(BIN) parley.db parley.db-wal parley.db-shm parley-admin.token
