#!/bin/sh
# Stands in for wrk2 and nighthawk_client in tests, since neither can be
# installed here: it records its arguments (and a Lua script given with -s,
# or Nighthawk's request file), then prints a saved output. With FAKE_ENGINE_SLEEP it first waits that
# long and, like the real tools, prints its report early on SIGINT.
set -u
: > "$FAKE_ENGINE_ARGS"
prev=
for a in "$@"; do
	printf '%s\n' "$a" >> "$FAKE_ENGINE_ARGS"
	if [ "$prev" = "-s" ]; then cat "$a" > "$FAKE_ENGINE_ARGS.lua"; fi
	if [ "$prev" = "--request-source-plugin-config" ]; then
		cat "$(printf '%s' "$a" | sed -n 's/.*"file_path":"\([^"]*\)".*/\1/p')" > "$FAKE_ENGINE_ARGS.requests"
	fi
	prev=$a
done
if [ -n "${FAKE_ENGINE_STDERR:-}" ]; then echo "$FAKE_ENGINE_STDERR" >&2; fi
if [ -n "${FAKE_ENGINE_SLEEP:-}" ]; then
	sleep "$FAKE_ENGINE_SLEEP" >/dev/null 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null; cat "$FAKE_ENGINE_OUTPUT"; exit 0' INT
	wait $pid
fi
if [ -n "${FAKE_ENGINE_OUTPUT:-}" ]; then cat "$FAKE_ENGINE_OUTPUT"; fi
exit "${FAKE_ENGINE_EXIT:-0}"
