# sfmcwatch developer tasks. Every binary is built by packaging/build.sh
# (static, version/commit/date stamped), the same script the Dockerfile,
# packaging/release.sh and .ci/run use.
GO ?= go
BIN ?= bin/sfmcwatch
PREFIX ?= /usr/local
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build install test test-short lint demo release release-snapshot docker systemd-verify clean

build: ## static, stamped binary in bin/sfmcwatch
	packaging/build.sh $(BIN)

install: build ## copy bin/sfmcwatch to $(PREFIX)/bin
	install -m 0755 $(BIN) $(PREFIX)/bin/sfmcwatch

test: ## every test (shared fixtures, PostgreSQL and browser tests skip without them)
	$(GO) test ./...

test-short: ## the CLI, docs and examples tests only
	$(GO) test ./internal/cli/ ./cmd/sfmcwatch/

lint: ## gofmt, go vet, staticcheck (staticcheck.conf lists the disabled checks)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

demo: build ## the scripted bad day against the simulator, from the release binary
	$(BIN) demo

release: ## archives + checksums for linux/darwin/windows x amd64/arm64 in dist/
	packaging/release.sh

release-snapshot: ## the same for the host platform only (what CI runs)
	packaging/release.sh --snapshot

docker: ## container image (needs docker)
	docker build --build-arg VERSION=$$(git describe --tags --always --dirty) \
	  --build-arg COMMIT=$$(git rev-parse HEAD) --build-arg DATE=$$(git log -1 --format=%cI) -t sfmcwatch .

systemd-verify: build ## lint the systemd unit (needs systemd-analyze)
	packaging/verify-unit.sh $(BIN)

clean:
	rm -rf bin dist
