#!/usr/bin/env bash
# Install the PostgreSQL server binaries the feedback tests start a throwaway cluster with
# (tests/feedback/conftest.py; they skip, saying why, when the binaries are absent).
# CI runs this as root on Debian. Nothing is started here: each test session runs
# initdb/pg_ctl from /usr/lib/postgresql/*/bin on 127.0.0.1 as the 'postgres' user.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "postgresql server binaries already installed: $(ls -d /usr/lib/postgresql/*/bin)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql
# The package may start its own cluster; the tests do not use it.
(command -v service >/dev/null && service postgresql stop) >/dev/null 2>&1 || true
ls -d /usr/lib/postgresql/*/bin
