#!/usr/bin/env bash
# Runs the whole suite. PostgreSQL joins when JINGPIN_TEST_POSTGRES_URL is set or 127.0.0.1:5432
# answers; with JINGPIN_REQUIRE_POSTGRES=1 (CI) its absence is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${JINGPIN_TEST_POSTGRES_URL:-}" ]; then
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    export JINGPIN_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
  fi
fi
if [ "${JINGPIN_REQUIRE_POSTGRES:-0}" = "1" ] && [ -z "${JINGPIN_TEST_POSTGRES_URL:-}" ]; then
  echo "PostgreSQL (127.0.0.1:5432) 不可用，CI 需要它。" >&2
  exit 1
fi
exec .venv/bin/pytest "$@"
