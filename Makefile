# Pitwall: `make run` and `make test` are all a fresh machine needs.
GO      ?= go
GOBIN   := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
BIN     := bin/pitwall
DATA    ?= $(CURDIR)/pitwall-data
FUZZTIME ?= 30s

.PHONY: all build run test lint vet bench fuzz deps clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/pitwall

# Until `pitwall up` exists this runs the broker on 127.0.0.1:9092.
run: build
	./$(BIN) broker --listen 127.0.0.1:9092 --data-dir $(DATA) --metrics-listen 127.0.0.1:9644

deps:
	./scripts/install-test-deps.sh

vet:
	$(GO) vet ./...

lint: vet
	staticcheck ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test: deps lint
	$(GO) test -race -timeout 20m ./...
	cd compat/sarama145 && $(GO) test -race -timeout 5m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./$(BIN) bench produce --acks 1
	./$(BIN) bench produce --acks all
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
	rm -rf bin dist
