# syntax=docker/dockerfile:1
# Two images from one file. `pitwall`: one static binary (every
# subcommand) on distroless, built in a Go 1.26 stage; docker-compose.yml
# runs the broker, the simulator, the edge and the lap processor from it.
# `grafana`: Grafana with the Pitwall Live plugin built inside the image
# (Go backend + TypeScript frontend), so compose needs no `make plugin`.
#
#   docker build -t pitwall .
#   docker run --rm pitwall sim --list-tracks
#   docker build --target grafana -t pitwall-grafana .

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

# The plugin's backend, named as Grafana looks for it
# (gpx_pitwall_live_linux_<arch>), from the sources of the build stage.
FROM build AS plugin-backend
RUN mkdir -p /out/plugin && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" \
    -o /out/plugin/gpx_pitwall_live_linux_$(go env GOARCH) ./dashboards/plugin/cmd/pitwall-live

# The plugin's frontend (dist/module.js): npm ci from the lock file, then
# webpack, as `make plugin-frontend` does.
FROM node:20-bookworm-slim AS plugin-frontend
WORKDIR /src/dashboards/plugin
COPY dashboards/plugin/package.json dashboards/plugin/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY dashboards/plugin/tsconfig.json dashboards/plugin/webpack.config.js ./
COPY dashboards/plugin/src ./src
RUN npm run build

# Grafana with the plugin in a plugins directory of its own, outside the
# /var/lib/grafana volume, so a rebuilt image never runs a stale copy kept
# in the volume; owned by grafana (472) as the image's own plugins
# directory is. The plugin is unsigned: docker-compose.yml allows it.
FROM grafana/grafana-oss:11.3.0 AS grafana
ENV GF_PATHS_PLUGINS=/usr/share/grafana/pitwall-plugins
COPY --chown=472:0 dashboards/plugin/plugin.json /usr/share/grafana/pitwall-plugins/pitwall-live-datasource/
COPY --chown=472:0 dashboards/plugin/src/img/logo.svg /usr/share/grafana/pitwall-plugins/pitwall-live-datasource/img/
COPY --chown=472:0 --from=plugin-frontend /src/dashboards/plugin/dist/ /usr/share/grafana/pitwall-plugins/pitwall-live-datasource/
COPY --chown=472:0 --from=plugin-backend /out/plugin/ /usr/share/grafana/pitwall-plugins/pitwall-live-datasource/
