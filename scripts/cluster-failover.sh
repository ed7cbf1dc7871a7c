#!/bin/bash
# Leadership failover of a three-broker cluster on loopback (Kafka on
# 127.0.0.1:29092, :29192, :29292; controllers on :29093, :29193, :29293).
# Each round creates a one-partition topic with three replicas, SIGKILLs
# its leader and times how long until an acks=1 produce to it is
# acknowledged (by its successor, through kcat), then restarts the killed
# broker. acks=1 because acks=all to three replicas waits for replication,
# which is not built yet (issue 13). A new topic each round: without
# replication a restarted broker does not rejoin the ISR.
# Usage: scripts/cluster-failover.sh BIN SESSION_TIMEOUT KILLS   (e.g. bin/pitwall 3s 8)
set -u
bin=$1
st=$2
kills=$3
d=$(mktemp -d)
brokers=127.0.0.1:29092,127.0.0.1:29192,127.0.0.1:29292
voters=1@127.0.0.1:29093,2@127.0.0.1:29193,3@127.0.0.1:29293
declare -A pid
start() {
	local p=$(($1 - 1))
	"$bin" broker --node-id "$1" --listen "127.0.0.1:29${p}92" --controller-listen "127.0.0.1:29${p}93" \
		--voters "$voters" --data-dir "$d/$1" --broker-session-timeout "$st" >>"$d/$1.log" 2>&1 &
	pid[$1]=$!
}
for n in 1 2 3; do start "$n"; done
until "$bin" topics list --brokers "$brokers" >/dev/null 2>&1; do sleep 0.2; done
settle=$(($(echo "$st" | tr -dc 0-9) * 2 + 1))
for r in $(seq "$kills"); do
	t=failover$r
	"$bin" topics create "$t" --partitions 1 --replication-factor 3 --brokers "$brokers" >/dev/null
	leader=
	until [ -n "$leader" ] && [ "$leader" != -1 ]; do
		leader=$(kcat -b "$brokers" -L -t "$t" -m 5 2>/dev/null | sed -n 's/.*partition 0, leader \([0-9-]*\),.*/\1/p')
	done
	t0=$(date +%s.%N)
	kill -9 "${pid[$leader]}"
	wait "${pid[$leader]}" 2>/dev/null
	until echo x | kcat -b "$brokers" -P -t "$t" -p 0 -X acks=1 -X message.timeout.ms=200 >/dev/null 2>&1; do :; done
	t1=$(date +%s.%N)
	echo "kill $r: broker $leader, failover $(echo "$t1 - $t0" | bc) s"
	start "$leader"
	sleep "$settle"
done
for n in 1 2 3; do kill "${pid[$n]}"; done
wait
rm -rf "$d"
