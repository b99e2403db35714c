#!/usr/bin/env bash
# Debian packages some integration tests and benchmarks use. Installed only when
# missing and only when running as root (CI and the developer machines are).
set -uo pipefail
want=()
command -v prometheus >/dev/null 2>&1 || want+=(prometheus)
if [ ${#want[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "not root: skipping install of ${want[*]} (tests that need them will say so)"
  exit 0
fi
echo "installing ${want[*]}"
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}") >/tmp/tsmesh-apt.log 2>&1 \
  || { echo "apt-get install failed (see /tmp/tsmesh-apt.log); tests that need ${want[*]} will say so"; }
exit 0
