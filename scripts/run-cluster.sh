#!/bin/sh
# make run-cluster: three brokers of one cluster on loopback. Broker n
# (1-3) serves Kafka on 127.0.0.1:9n-1 92 (9092, 9192, 9292) and the
# controller quorum on 9093, 9193, 9293, and keeps its data in DIR/n.
# Ctrl-C stops all three.
# Usage: scripts/run-cluster.sh BIN DIR
set -eu
bin=$1
dir=$2
voters=1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293
pids=
stop() {
	trap - INT TERM
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	wait
	exit 0
}
trap stop INT TERM
for n in 1 2 3; do
	p=$((n - 1))
	mkdir -p "$dir/$n"
	"$bin" broker --node-id "$n" --listen "127.0.0.1:9${p}92" --controller-listen "127.0.0.1:9${p}93" \
		--voters "$voters" --data-dir "$dir/$n" &
	pids="$pids $!"
done
wait
