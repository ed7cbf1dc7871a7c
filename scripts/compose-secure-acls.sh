#!/bin/sh
# docker-compose.yml's secured profile, after the broker is up (service
# acls-secure-init, retried until the broker answers): least-privilege
# ACLs, given as the super user admin over SASL_SSL. The edge may create
# and write telemetry* (frames, catalogs, dead letters); the processor may
# read telemetry*, use its group, and create and write what it produces.
# BROKERS, SECRETS and PITWALL override the defaults (for a test).
set -eu
S=${SECRETS:-/secrets}
export PITWALL_BROKERS="${BROKERS:-broker-secure:9093}" PITWALL_TLS_CA="$S/ca.pem" PITWALL_SASL_MECHANISM=SCRAM-SHA-512 \
	PITWALL_SASL_USER=admin PITWALL_SASL_PASSWORD_FILE="$S/admin.password"
acl() { "${PITWALL:-/out/pitwall}" acls add "$@"; }
acl --allow-principal User:edge --operation Write --operation Create --topic telemetry --resource-pattern-type prefixed
acl --allow-principal User:processor --operation Read --topic telemetry --resource-pattern-type prefixed
acl --allow-principal User:processor --operation Read --group pitwall-laps
acl --allow-principal User:processor --operation Write --operation Create \
	--topic telemetry.laps --topic telemetry.deadletter --topic telemetry.live
echo "acls-secure-init: ACLs in place"
