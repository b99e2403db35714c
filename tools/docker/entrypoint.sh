#!/bin/sh
# Image entrypoint: runs the app's bundle with what its launch.json (beside main.js) asks for at
# process start — node flags (`nodeArgs`, e.g. Mixer's --no-memory-reducer) and environment
# (`env`, e.g. the sidecar's malloc settings; a variable the container already sets wins) — the way
# `tsmesh up` starts it. Arguments go to the app; node replaces this shell (signals reach it).
set -eu
dir="${TSMESH_APP_DIR:-/app}"
launch="$(node "${TSMESH_LAUNCH_ENV:-/usr/local/lib/tsmesh/launch-env.cjs}" "$dir/launch.json")"
eval "$launch"
# shellcheck disable=SC2086 # node flags are single words
exec node ${TSMESH_NODE_ARGS} "$dir/main.js" "$@"
