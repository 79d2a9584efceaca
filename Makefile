# Parley — make help lists the targets.
GO        ?= go
BIN       := bin
# FUZZTIME is a duration, or a run count such as 200000x.
FUZZTIME  ?= 30s
BENCHTIME ?= 2s
BENCHCOUNT ?= 5

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/parley and bin/fakecarrier
	$(GO) build -o $(BIN)/parley ./cmd/parley
	$(GO) build -o $(BIN)/fakecarrier ./cmd/fakecarrier

.PHONY: run
run: build ## serve Parley on SQLite with the fake carrier and a demo channel (see README)
	scripts/run-demo.sh

.PHONY: test
test: ## run every test with the race detector, on SQLite and PostgreSQL
	scripts/ensure-postgres.sh
	$(GO) test -race -count=1 -timeout=30m ./...

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: fuzz
fuzz: ## run every fuzz test for FUZZTIME each (default 30s)
	$(GO) test ./optout -run='^$$' -fuzz='^FuzzMatch$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./optout -run='^$$' -fuzz='^FuzzLooksLikeRevocation$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./conversations -run='^$$' -fuzz='^FuzzNormalizePhone$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./gateway/twilio -run='^$$' -fuzz='^FuzzParseInbound$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./gateway/twilio -run='^$$' -fuzz='^FuzzParseStatus$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./conversations -run='^$$' -fuzz='^FuzzSegment$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=1s

.PHONY: bench
bench: ## a short run of every measurement (ingest vs. its ceiling, inbox lists, a campaign), printing JSON lines
	scripts/bench.sh

.PHONY: bench-go
bench-go: ## the Go benchmarks of the ingest path on SQLite and PostgreSQL, BENCHCOUNT runs each (compare medians)
	scripts/ensure-postgres.sh
	$(GO) test ./gateway -run='^$$' -bench=InboundWebhook -benchtime=$(BENCHTIME) -count=$(BENCHCOUNT)
	$(GO) test ./store -run='^$$' -bench=Ingest -benchtime=$(BENCHTIME) -count=$(BENCHCOUNT)

.PHONY: clean
clean: ## remove build output and the demo database
	rm -rf $(BIN) parley.db parley.db-wal parley.db-shm parley-admin.token
