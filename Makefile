# wecom-crm-bot — developer entry points. `make help` lists them.
SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
ENGINES_DIR ?= $(CURDIR)/.engines
ARTIFACTS_DIR_LOCAL ?= $(CURDIR)/artifacts
LDFLAGS := -s -w
DIST ?= dist
export PATH := $(PATH):/usr/local/go/bin

.PHONY: help run test test-go lint engines bench fuzz fuzz-short loadtest coldstart package clean $(addprefix build-,$(FUNCTIONS))

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-12s %s\n", $$1, $$2}'

run: ## run the whole product locally (all functions, bbolt, emulator, built-in CRM) on 127.0.0.1:$${PORT:-8080}
	$(GO) run ./infra/local

engines: ## install the real test engines (redis-server, DynamoDB Local, fauxqs, chromium)
	ENGINES_DIR=$(ENGINES_DIR) bash .ci/engines.sh

lint: ## gofmt, go vet, staticcheck (pinned as a tool in go.mod)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

test: engines lint test-go fuzz-short ## install engines, run every test against them, then every fuzz target briefly

test-go:
	mkdir -p $(ARTIFACTS_DIR_LOCAL)
	REQUIRE_ENGINES=1 ENGINES_DIR=$(ENGINES_DIR) WECOM_NODE_SDK_DIR=$(ENGINES_DIR) ARTIFACTS_DIR=$(ARTIFACTS_DIR_LOCAL) \
		$(GO) test -count=1 -timeout 20m ./...

bench: ## run the Go benchmarks and print them with ratios against in-run baselines (see docs/performance.md)
	set -o pipefail; $(GO) test -run '^$$' -bench "$${BENCH:-.}" -benchmem -count 1 \
		./shared/wecom/callback/ ./shared/wecom/wxcrypt/ ./shared/bot/ ./infra/loadtest/ \
		| tee $${TMPDIR:-/tmp}/bench.txt | grep -E '^(Benchmark|pkg:|ok|FAIL|---)'
	@echo; $(GO) run ./infra/loadtest/cmd/benchtable < $${TMPDIR:-/tmp}/bench.txt

fuzz: ## run every fuzz target for FUZZTIME each (default 10s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-10s} $$pkg || exit 1; \
	  done; \
	done

# fuzz-short counts executions rather than seconds: Go 1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" failure when a duration -fuzztime expires on a loaded machine
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
fuzz-short: ## run every fuzz target briefly (FUZZTIME_SHORT, default 3000x each); part of `make test`
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$${FUZZTIME_SHORT:-3000x}

loadtest: ## the full load + fault run: 10,000 messages, 500 conversations, bbolt and Redis (docs/reliability.md)
	LOADTEST_FULL=1 $(GO) test -count=1 -timeout 60m -v -run 'TestLoad' ./infra/loadtest/

coldstart: ## cold start of every function binary (local and Lambda Runtime API) and binary sizes vs the 15 MiB budget
	$(GO) test -count=1 -v -run 'TestColdStart|TestBinarySizeBudget' ./infra/loadtest/ | grep -E 'cold start|MB|---|^ok|FAIL'

package: ## cross-compile every function for linux/arm64 (AWS) and linux/amd64 (Tencent) and zip them (DIST=dist, FUNCTIONS=all)
	rm -rf $(DIST) && mkdir -p $(DIST)/aws $(DIST)/tencent
	@for f in $(FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/aws/$$f/bootstrap ./functions/$$f || exit 1; \
	  (cd $(DIST)/aws/$$f && zip -q -X ../$$f.zip bootstrap) || exit 1; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -tags lambda.norpc -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/tencent/$$f ./functions/$$f || exit 1; \
	done
	(cd $(DIST)/tencent && zip -q -X ../tencent.zip $(FUNCTIONS))
	@ls -l $(DIST)/aws/*/bootstrap $(DIST)/tencent/* $(DIST)/*.zip $(DIST)/aws/*.zip | awk '{printf "%10d  %s\n", $$5, $$9}'

clean:
	rm -rf $(DIST) artifacts

# SAM (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR set.
define SAM_TARGET
build-$(shell echo $(1) | awk '{print toupper(substr($$0,1,1)) substr($$0,2)}')Function:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags '$(LDFLAGS)' -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(1)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call SAM_TARGET,$(f))))
