#!/bin/bash
# System calls per connection of the server and of `gatehouse connect` during
# the first-byte figure on Postgres (docs/benchmarks.md, "Ninth round").
# Needs strace and a Postgres at the bench's default URL.
#
#   bench/syscalls.sh /tmp/gh-X [rounds]
#
# It runs bench/ (built into a temporary folder), attaches `strace -f -c` to
# both processes for the whole figure, and divides each count by the
# connections each process accepted. "io" leaves out the runtime's own calls
# (futex, nanosleep, epoll_pwait, sched_yield, signals).
set -euo pipefail
bin=$(realpath "$1"); rounds=${2:-500}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$(dirname "$0")/.."
go build -o "$tmp/bench" ./bench
"$tmp/bench" --bin "$bin" --db postgres --only first_byte --rounds "$rounds" 2>"$tmp/err" >/dev/null &
for _ in $(seq 1 300); do grep -q first_byte "$tmp/err" 2>/dev/null && break; sleep 0.2; done
srv=$(pgrep -f "$bin serve" | head -1); con=$(pgrep -f "$bin connect" | head -1)
strace -f -c -p "$srv" -o "$tmp/srv" 2>/dev/null &
strace -f -c -p "$con" -o "$tmp/con" 2>/dev/null &
wait
for side in srv con; do
	awk -v side="$side" '
		$NF != "syscall" && $NF != "total" && $1 ~ /^[0-9]/ {
			calls = $4; errs = (NF == 6) ? $5 : 0; n[$NF] = calls; e[$NF] = errs
		}
		END {
			conns = n["accept4"] - e["accept4"]
			split("futex nanosleep epoll_pwait sched_yield restart_syscall rt_sigreturn tgkill getpid rt_sigprocmask", rt, " ")
			for (i in rt) skip[rt[i]] = 1
			for (k in n) { all += n[k]; if (!(k in skip)) io += n[k] }
			printf "%s: %d connections, %.1f calls each, %.1f of them I/O\n", side, conns, all / conns, io / conns
		}' "$tmp/$side"
done
