#!/usr/bin/env bash
# Brings up the development/test stack on loopback: a single-node Apache Kafka in KRaft mode (jars from Maven
# Central via stack/kafka/pom.xml; STACK_KAFKA_VERSION picks the release, default 3.9.1, e.g. 4.1.2) and a
# redis-server (or the server REDIS_URL names). Idempotent: a running stack of the same Kafka version is reused.
# Writes the addresses to .stack/env. With --report-started, the last stdout line is STARTED=<what this run started>,
# so the jest teardown stops only that.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack-lib.sh"

REPORT_STARTED=false
[ "${1:-}" = "--report-started" ] && REPORT_STARTED=true
started=()

command -v java >/dev/null || die "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"
command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
command -v node >/dev/null || die "node not found: install Node.js 20"
[ -n "${REDIS_URL:-}" ] || command -v redis-server >/dev/null || die "redis-server not found: install it (apt-get install redis-server) or set REDIS_URL"
command -v redis-cli >/dev/null || die "redis-cli not found: install it (apt-get install redis-tools)"

mkdir -p "$KAFKA_DIR/logs" "$REDIS_DIR"

# ---- Kafka jars: resolved once into Maven's local repository, copied to .stack/kafka/lib-<version> while the pom is
# unchanged, so switching versions back and forth costs a copy at most.
KAFKA_VERSION="${STACK_KAFKA_VERSION:-3.9.1}"
[[ "$KAFKA_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "STACK_KAFKA_VERSION: \"$KAFKA_VERSION\" must be a release such as 3.9.1 or 4.1.2"
KAFKA_MAJOR="${KAFKA_VERSION%%.*}"
mvn_profile=()
# Kafka 4 logs through log4j 2 (see the pom): its own logging binding and configuration format.
if [ "$KAFKA_MAJOR" -ge 4 ]; then mvn_profile=(-Dkafka.line=4); fi
POM="$ROOT/stack/kafka/pom.xml"
LIB="$KAFKA_DIR/lib-$KAFKA_VERSION"
pom_hash="$(sha256sum "$POM" | cut -c1-16)"
if [ "$(cat "$LIB/.pom-hash" 2>/dev/null)" != "$pom_hash" ]; then
  log "resolving the Kafka $KAFKA_VERSION broker from Maven (first run downloads ~100 MB into ~/.m2)"
  rm -rf "$LIB"
  mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -Dkafka.version="$KAFKA_VERSION" "${mvn_profile[@]}" \
    -DoutputDirectory="$LIB" >&2 || die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (is Maven Central reachable? is it a release?)"
  echo "$pom_hash" > "$LIB/.pom-hash"
fi

# ---- Kafka broker
kafka_pid="$(alive_pid "$KAFKA_DIR/kafka.pid" || true)"
if [ -n "$kafka_pid" ]; then
  KAFKA_PORT="$(cat "$KAFKA_DIR/port")"
  # A broker started before versions were recorded ran the only version there was.
  running_version="$(cat "$KAFKA_DIR/version" 2>/dev/null || echo 3.9.1)"
  [ "$running_version" = "$KAFKA_VERSION" ] \
    || die "Kafka $running_version is running (pid $kafka_pid), not $KAFKA_VERSION: stop it first (npm run stack:down -- kafka)"
  log "Kafka $KAFKA_VERSION already running (pid $kafka_pid) on 127.0.0.1:$KAFKA_PORT"
else
  KAFKA_PORT="$(free_port)"
  CONTROLLER_PORT="$(free_port)"
  while [ "$CONTROLLER_PORT" = "$KAFKA_PORT" ]; do CONTROLLER_PORT="$(free_port)"; done
  rm -rf "$KAFKA_DIR/data"
  cat > "$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
log.retention.hours=24
PROPS
  if [ "$KAFKA_MAJOR" -ge 4 ]; then
    cat > "$KAFKA_DIR/log4j2.properties" <<'L4J'
appender.file.type=File
appender.file.name=file
appender.file.fileName=${sys:kafka.logs.dir}/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=file
logger.broker.name=kafka.server.BrokerServer
logger.broker.level=INFO
L4J
    LOGGING=("-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties")
  else
    cat > "$KAFKA_DIR/log4j.properties" <<'L4J'
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
L4J
    LOGGING=("-Dlog4j.configuration=file:$KAFKA_DIR/log4j.properties")
  fi
  JAVA_OPTS=(-Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "${LOGGING[@]}" "-Dkafka.logs.dir=$KAFKA_DIR/logs" -cp "$LIB/*")
  cluster_id="$(java "${JAVA_OPTS[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
  java "${JAVA_OPTS[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/logs/format.out" 2>&1 \
    || die "formatting Kafka storage failed; see $KAFKA_DIR/logs/format.out"
  # setsid: the broker must not die with the shell or the jest worker that started it; stack-down stops it by pid.
  setsid java "${JAVA_OPTS[@]}" kafka.Kafka "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$KAFKA_DIR/kafka.pid"
  echo "$KAFKA_PORT" > "$KAFKA_DIR/port"
  echo "$KAFKA_VERSION" > "$KAFKA_DIR/version"
  started+=(kafka)
  log "Kafka $KAFKA_VERSION starting (pid $!) on 127.0.0.1:$KAFKA_PORT"
fi

# ---- Redis
if [ -n "${REDIS_URL:-}" ]; then
  REDIS="$REDIS_URL"
  log "using REDIS_URL=${REDIS_URL%%@*}…"
else
  redis_pid="$(alive_pid "$REDIS_DIR/redis.pid" || true)"
  if [ -n "$redis_pid" ]; then
    REDIS_PORT="$(cat "$REDIS_DIR/port")"
    log "Redis already running (pid $redis_pid) on 127.0.0.1:$REDIS_PORT"
  else
    REDIS_PORT="$(free_port)"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$REDIS_DIR" \
      --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --save '' --appendonly no >/dev/null
    for ((i = 0; i < 100; i++)); do [ -s "$REDIS_DIR/redis.pid" ] && break; sleep 0.05; done
    echo "$REDIS_PORT" > "$REDIS_DIR/port"
    started+=(redis)
    log "Redis started (pid $(cat "$REDIS_DIR/redis.pid")) on 127.0.0.1:$REDIS_PORT"
  fi
  REDIS="redis://127.0.0.1:$REDIS_PORT"
fi

# ---- Readiness: Redis answers PING, the broker answers a metadata request.
for ((i = 0; i < 100; i++)); do
  [ "$(redis-cli -u "$REDIS" ping 2>/dev/null)" = "PONG" ] && break
  sleep 0.1
done
[ "$(redis-cli -u "$REDIS" ping 2>/dev/null)" = "PONG" ] || die "Redis at ${REDIS%%@*} does not answer PING"
node "$ROOT/scripts/wait-for-kafka.js" "127.0.0.1:$KAFKA_PORT" 90000 "$KAFKA_DIR/kafka.pid" \
  || die "Kafka did not answer a metadata request in 90 s; see $KAFKA_DIR/logs/server.log"

printf 'KAFKA_BROKERS=127.0.0.1:%s\nREDIS_URL=%s\nSTACK_KAFKA_VERSION=%s\n' "$KAFKA_PORT" "$REDIS" "$KAFKA_VERSION" > "$STACK/env"
log "ready: $(tr '\n' ' ' < "$STACK/env")(written to .stack/env)"
if $REPORT_STARTED; then
  (IFS=,; echo "STARTED=${started[*]:-}")
fi
