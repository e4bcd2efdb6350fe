# Shared by stack-up.sh and stack-down.sh. Everything lives under .stack/ (git-ignored).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="$ROOT/.stack"
KAFKA_DIR="$STACK/kafka"
REDIS_DIR="$STACK/redis"

die() { echo "stack: $*" >&2; exit 1; }
log() { echo "stack: $*" >&2; }

# A pid file names a process we started; it counts only while that process is alive.
alive_pid() {
  local file="$1" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Stops a process by pid: TERM, then KILL after the grace period. Waits until it is gone.
stop_pid() {
  local pid="$1" name="$2" grace="${3:-20}" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { log "$name stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  log "$name did not stop in ${grace}s; killing pid $pid"
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
