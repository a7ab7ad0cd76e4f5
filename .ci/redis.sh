#!/usr/bin/env bash
# Starts or stops the redis-server that test/distributed and bench/distributed use: on
# 127.0.0.1, a free port, no persistence. `start` writes REDIS_URL to .ci/redis.env.
# Installs nothing: .ci/run installs the Debian package redis-server first.
set -euo pipefail
cd "$(dirname "$0")/.."

env_file=.ci/redis.env
pid_file="${TMPDIR:-/tmp}/ringleader-redis.pid"

case "${1:-}" in
  start)
    command -v redis-server >/dev/null || { echo "redis.sh: redis-server is not installed" >&2; exit 1; }
    port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
      --pidfile "$pid_file" --logfile "${TMPDIR:-/tmp}/ringleader-redis.log"
    for _ in $(seq 1 100); do
      if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
        echo "REDIS_URL=redis://127.0.0.1:$port" > "$env_file"
        echo "redis.sh: redis-server ready on 127.0.0.1:$port"
        exit 0
      fi
      sleep 0.1
    done
    echo "redis.sh: redis-server did not come up on port $port" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pid_file" ]; then
      kill "$(cat "$pid_file")" 2>/dev/null || true
      rm -f "$pid_file"
    fi
    rm -f "$env_file"
    ;;
  *)
    echo "usage: .ci/redis.sh start|stop" >&2
    exit 2
    ;;
esac
