#!/usr/bin/env bash
# Holding 10,000 polls needs more than the usual 1,024 file descriptors,
# for the bench client and for the server processes it starts.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cd "$(dirname "$0")/.." && exec node --import tsx bench/run.ts "$@"
