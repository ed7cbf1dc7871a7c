# Pitwall: `make run` and `make test` are all a fresh machine needs.
GO      ?= go
GOBIN   := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
BIN     := bin/pitwall
DATA    ?= $(CURDIR)/pitwall-data
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
PREFIX  ?= /usr/local
FUZZTIME ?= 30s

.PHONY: all build install run run-broker run-cluster test lint vet bench fuzz deps clean screenshots

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/pitwall

# Puts pitwall on PATH: $(PREFIX)/bin/pitwall (PREFIX=~/.local for no root).
install: build
	install -d $(PREFIX)/bin
	install -m 0755 $(BIN) $(PREFIX)/bin/pitwall

# Everything on one laptop: broker (Kafka tools can use 127.0.0.1:9092),
# simulator, edge over a pty, lap processor and the live timing board. The
# short club circuit so the first laps tick within a minute at real time.
run: build
	./$(BIN) up --listen 127.0.0.1:9092 --track brands-indy

# The broker alone, for Kafka tools and clients.
run-broker: build
	./$(BIN) broker --listen 127.0.0.1:9092 --data-dir $(DATA) --metrics-listen 127.0.0.1:9644

# Three brokers of one cluster on loopback (Kafka on 9092, 9192, 9292;
# controllers on 9093, 9193, 9293), data under $(DATA)-cluster/1..3.
# Ctrl-C stops all three.
run-cluster: build
	./scripts/run-cluster.sh ./$(BIN) $(DATA)-cluster

deps:
	./scripts/install-test-deps.sh

# The README's pictures of the pit wall page (and its alarms), rendered in headless Chromium
# by the page's browser test.
screenshots: deps
	PITWALL_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -run 'TestPageInBrowser|TestAlarmsInBrowser' -count 1 ./dashboards/web/

vet:
	$(GO) vet ./...

lint: vet
	staticcheck ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test: deps lint plugin-frontend-test
	$(GO) test -race -timeout 20m ./...
	cd compat/sarama145 && $(GO) test -race -timeout 5m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./$(BIN) bench produce --acks 1
	./$(BIN) bench produce --acks 1 --client raw
	./$(BIN) bench produce --acks all
	./$(BIN) bench produce --acks all --client raw
	./$(BIN) bench consume

# Runs every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin dist dashboards/plugin/dist

# The Pitwall Live Grafana plugin, ready to copy into a Grafana's plugins
# directory (the Dockerfile's grafana stage builds the same inside the
# image): the Go backend for linux on this machine's architecture,
# plugin.json and the TypeScript frontend built by webpack, in
# dist/pitwall-live-datasource.
PLUGIN_DIST := dist/pitwall-live-datasource
PLUGIN_FE   := dashboards/plugin
.PHONY: plugin plugin-frontend plugin-frontend-test
plugin: plugin-frontend
	rm -rf $(PLUGIN_DIST) && mkdir -p $(PLUGIN_DIST)/img
	CGO_ENABLED=0 GOOS=linux GOARCH=$$($(GO) env GOARCH) $(GO) build -trimpath -o $(PLUGIN_DIST)/gpx_pitwall_live_linux_$$($(GO) env GOARCH) ./dashboards/plugin/cmd/pitwall-live
	cp dashboards/plugin/plugin.json $(PLUGIN_FE)/dist/module.js $(PLUGIN_FE)/dist/module.js.map $(PLUGIN_DIST)/
	cp dashboards/plugin/src/img/logo.svg $(PLUGIN_DIST)/img/

# The frontend's packages, from package-lock.json (npm ci again when the
# lock file is newer than the install).
$(PLUGIN_FE)/node_modules/.package-lock.json: $(PLUGIN_FE)/package-lock.json
	cd $(PLUGIN_FE) && npm ci --no-audit --no-fund

plugin-frontend: $(PLUGIN_FE)/node_modules/.package-lock.json
	cd $(PLUGIN_FE) && npm run build

# The frontend's type check and unit tests (jest); part of make test.
plugin-frontend-test: $(PLUGIN_FE)/node_modules/.package-lock.json
	cd $(PLUGIN_FE) && npm run typecheck && npm test -- --ci
