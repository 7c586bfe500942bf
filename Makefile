# The two commands: `make demo` and `make test`.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) -X $(VPKG).Branch=$(BRANCH) \
             -X $(VPKG).BuildUser=$(shell id -un)@$(shell hostname) -X $(VPKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

STATICCHECK_VERSION := v0.8.2
TOOLS     := $(CURDIR)/.tools/bin
GOFILES    = $(shell find . -name '*.go' -not -path './.tools/*' -not -path './.git/*')

.PHONY: build demo demo-down test test-matrix test-versions check imports fmt-check vet staticcheck tidy-check race e2e unit fuzz bench deps lab-up lab-down lab-destroy

build:
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o certstatus_exporter .

## demo: lab + exporter, prints the URLs
demo:
	@bash scripts/demo.sh

demo-down:
	@bash scripts/demo.sh down

## test: the gates, then unit + integration tests (the integration tests bring the lab up)
test: deps check
	$(GO) test -count=1 -p 1 -timeout 25m -skip TestEndToEndPaging ./...
	$(GO) test -run '^$$' -fuzz FuzzClassify -fuzztime 20s ./ocsp/
	$(GO) test -run '^$$' -fuzz FuzzCheckCRL -fuzztime 20s ./crl/
	@$(MAKE) --no-print-directory e2e

## check: the gates make test runs first: gofmt, go vet, staticcheck, go mod tidy, unit tests under -race
check: fmt-check vet staticcheck tidy-check imports race

imports:
	@bash scripts/check-imports.sh

fmt-check:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck: $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)
	$(TOOLS)/staticcheck-$(STATICCHECK_VERSION) ./...

$(TOOLS)/staticcheck-$(STATICCHECK_VERSION):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS)/staticcheck $@

tidy-check:
	$(GO) mod tidy -diff

race:
	$(GO) test -race -short -count=1 ./...

## e2e: lab + exporter + Prometheus + Alertmanager + webhook receiver; prints fault-to-page times
e2e: deps
	$(GO) test -count=1 -v -timeout 10m -run TestEndToEndPaging ./integration/

## test-matrix: the replication scenarios on PostgreSQL 13, 14, 15, 16, 17 and 18 (about 18 minutes)
test-matrix: deps
	@bash scripts/test-matrix.sh

## test-versions: what CI adds to make test: every replication scenario but the
## 60 s idle one on 13, 14, 16, 17 and 18 (15 runs them all in make test)
test-versions: deps
	@TEST_MATRIX_SKIP=TestReplicationIdlePrimary bash scripts/test-matrix.sh 13 14 16 17 18

## unit: only the fast tests, no lab
unit:
	$(GO) test -short ./...

## fuzz: the OCSP and CRL parse-and-check paths, longer than make test does
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzClassify -fuzztime 5m ./ocsp/
	$(GO) test -run '^$$' -fuzz FuzzCheckCRL -fuzztime 5m ./crl/

## bench: the benchmarks of bench/README.md
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./bench/ -skip 'TrackedMemory|CRL|CTRead'
	$(GO) test -run '^$$' -bench TrackedMemory -benchtime 1x ./bench/
	$(GO) test -run '^$$' -bench CRL -benchtime 20x ./bench/
	$(GO) test -run '^$$' -bench CTRead -benchtime 3x -count 3 ./bench/

deps:
	@bash scripts/deps.sh

lab-up:
	@bash lab/lab.sh up
lab-down:
	@bash lab/lab.sh down
lab-destroy:
	@bash lab/lab.sh destroy
