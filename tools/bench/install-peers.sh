#!/usr/bin/env bash
# Benchmark peers (not needed by the tests): wrk for throughput, haproxy and nginx as reference
# proxies, h2load for HTTP/2. The benchmarks leave out whatever is missing and say so.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk haproxy nginx-light nghttp2-client
