# syntax=docker/dockerfile:1
# The pitwall image: one static binary (every subcommand) on distroless,
# built in a Go 1.26 stage. docker-compose.yml runs the broker, the
# simulator, the edge and the lap processor from it.
#
#   docker build -t pitwall .
#   docker run --rm pitwall sim --list-tracks

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so code changes do not re-download them. The kmsg
# replacement lives in third_party.
COPY go.mod go.sum ./
COPY third_party ./third_party
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pitwall ./cmd/pitwall
# Directories for the broker's log and the edge's spool, owned by nonroot so
# the named volumes docker-compose.yml mounts there are writable.
RUN mkdir -p /out/data /out/spool

# distroless/static: no shell, no libc, a /tmp and a nonroot user (65532).
FROM gcr.io/distroless/static-debian12:nonroot AS pitwall
COPY --from=build /out/pitwall /usr/local/bin/pitwall
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/spool /spool
USER nonroot:nonroot
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/pitwall"]
CMD ["--help"]
