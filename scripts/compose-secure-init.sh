#!/bin/sh
# docker-compose.yml's secured profile, first step (service secure-init, in
# the image's build stage: a shell, openssl and /out/pitwall). Once per
# fresh volume it makes, in /secrets:
#   ca.pem                       a throwaway test CA (its key stays here)
#   broker-secure{,-key}.pem     the broker's certificate and key
#   mosquitto-secure{,-key}.pem  Mosquitto's
#   NAME.password                a random password per Kafka user: admin
#                                (super user), edge, processor
#   mqtt-car.password, mqtt-edge.password, mosquitto.passwd.plain
#                                the MQTT logins (mosquitto-secure-init hashes them)
#   mosquitto.conf               Mosquitto over TLS with the password file
# and creates the Kafka users in the stopped broker's data dir with
# `pitwall users add NAME --data-dir /data` (passwords on stdin, never in
# a command line). Nothing here is for production: bring your own CA.
#
# SECRETS, DATA and PITWALL override the paths, and CHOWN=0 skips the
# ownership changes, so a test can run it outside a container.
set -eu
S=${SECRETS:-/secrets}
D=${DATA:-/data}
P=${PITWALL:-/out/pitwall}
[ -f "$S/.done" ] && { echo "secure-init: already done"; exit 0; }
umask 077
cd "$S"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
	-subj "/CN=Pitwall compose test CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
for host in broker-secure mosquitto-secure; do
	printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$host" >"$host.ext"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" \
		-keyout "$host-key.pem" -out "$host.csr" 2>/dev/null
	openssl x509 -req -in "$host.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 365 \
		-extfile "$host.ext" -out "$host.pem" 2>/dev/null
	rm "$host.csr" "$host.ext"
done

for user in admin edge processor; do
	openssl rand -hex 16 >"$user.password"
	"$P" users add "$user" --data-dir "$D" <"$user.password" # SCRAM-SHA-256 and -512
done
for user in car edge; do
	openssl rand -hex 16 >"mqtt-$user.password"
	printf '%s:%s\n' "$user" "$(cat "mqtt-$user.password")" >>mosquitto.passwd.plain
done
cat >mosquitto.conf <<CONF
listener 8883
cafile /secrets/ca.pem
certfile /secrets/mosquitto-secure.pem
keyfile /secrets/mosquitto-secure-key.pem
allow_anonymous false
password_file /secrets/mosquitto.passwd
CONF

# The pitwall image runs as nonroot (65532), Mosquitto as mosquitto (1883).
chmod 0644 ca.pem broker-secure.pem mosquitto-secure.pem mosquitto.conf
if [ "${CHOWN:-1}" != 0 ]; then
	chown 65532:65532 broker-secure-key.pem admin.password edge.password processor.password \
		mqtt-car.password mqtt-edge.password
	chown 1883:1883 mosquitto-secure-key.pem
	chown -R 65532:65532 "$D"
fi
touch .done
echo "secure-init: test CA, certificates and users made"
