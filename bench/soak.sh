#!/bin/bash
# The long soak: one gate against every kind of failing server (refused, silent, reset, HTTP 503,
# another protocol, PostgreSQL 57P03, Redis LOADING) for 30 minutes, its descriptors and resident
# memory sampled every 10 s and required flat. The suite runs the same test for 60 s.
#   bench/soak.sh [SECONDS]     (default 1800)
set -euo pipefail
cd "$(dirname "$0")/.."
READYGATE_SOAK_SECONDS=${1:-1800} exec cargo test --locked --test it -- --exact \
  hardening::a_soak_against_every_failing_server_keeps_descriptors_and_memory_flat --nocapture
