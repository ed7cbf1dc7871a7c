#!/usr/bin/env bash
# Installs what Pitwall's tests need when it is missing, and nothing else:
#   kcat (librdkafka), socat (pty pairs), mosquitto (MQTT),
#   chromium (the pit wall page's browser tests)            - Debian packages
#   influxd 1.8.10 (pure Go)                                - go install
#   staticcheck                                             - go install
# Safe to run again: each step checks first. Needs root or sudo for apt-get.
set -euo pipefail

STATICCHECK_VERSION=v0.8.2
INFLUXD_VERSION=v1.8.10

gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

have() { command -v "$1" >/dev/null 2>&1; }

missing=()
have kcat || missing+=(kcat)
have socat || missing+=(socat)
have mosquitto || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
have mosquitto_passwd || missing+=(mosquitto) # the TLS tests' password files
have openssl || missing+=(openssl)
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		have sudo || { echo "install-test-deps: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
		sudo="sudo"
	fi
	echo "install-test-deps: apt-get install ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# The mosquitto package starts a system broker on 1883; tests start
	# their own on random ports and need nothing else listening.
	if have systemctl && systemctl is-active --quiet mosquitto 2>/dev/null; then
		$sudo systemctl stop mosquitto || true
	fi
fi

if ! have influxd; then
	echo "install-test-deps: go install influxd@$INFLUXD_VERSION (about a minute)"
	GOFLAGS= go install "github.com/influxdata/influxdb/cmd/influxd@$INFLUXD_VERSION"
fi

if ! have staticcheck; then
	echo "install-test-deps: go install staticcheck@$STATICCHECK_VERSION"
	GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
