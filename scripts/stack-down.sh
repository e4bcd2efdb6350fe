#!/usr/bin/env bash
# Stops what stack-up.sh started, by pid, and nothing else: `stack-down.sh` stops both, `stack-down.sh kafka` or
# `stack-down.sh redis` one. A Redis named by REDIS_URL was never ours and is left alone. Kafka's data is removed
# (every stack-up starts an empty broker, so tests never see another run's topics).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack-lib.sh"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kafka redis)

for target in "${targets[@]}"; do
  case "$target" in
    kafka)
      if pid="$(alive_pid "$KAFKA_DIR/kafka.pid")"; then stop_pid "$pid" kafka 30; fi
      rm -f "$KAFKA_DIR/kafka.pid" "$KAFKA_DIR/port" "$KAFKA_DIR/version" "$KAFKA_DIR/secure-port" "$STACK/env.secure"
      rm -rf "$KAFKA_DIR/data" "$KAFKA_DIR/tls"
      ;;
    redis)
      if pid="$(alive_pid "$REDIS_DIR/redis.pid")"; then stop_pid "$pid" redis 10; fi
      rm -f "$REDIS_DIR/redis.pid" "$REDIS_DIR/port"
      ;;
    *) die "unknown service '$target' (kafka or redis)" ;;
  esac
done
if ! alive_pid "$KAFKA_DIR/kafka.pid" >/dev/null && ! alive_pid "$REDIS_DIR/redis.pid" >/dev/null; then
  rm -f "$STACK/env"
fi
