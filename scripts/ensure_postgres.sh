#!/usr/bin/env bash
# Makes sure PostgreSQL's server programs are available for the tuning storage test
# (tests/tuning/test_postgres.py starts a throwaway server on 127.0.0.1 with initdb/pg_ctl,
# runs a search against it and removes it; see tests/tuning/conftest.py).
#
# Idempotent and quiet: does nothing when initdb and pg_ctl are found (on PATH or in
# Debian's /usr/lib/postgresql/<version>/bin). Otherwise, as root on a Debian/Ubuntu
# machine, installs Debian's `postgresql` package with apt-get, without creating or
# starting the default "main" cluster. Elsewhere it prints what to do and exits 0 (the
# test then fails with the same hint, unless LAMINA_SKIP_POSTGRES=1 is set).
set -euo pipefail

have_postgres() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        return 0
    fi
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then
            return 0
        fi
    done
    return 1
}

if have_postgres; then
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_postgres: installing Debian's postgresql package (needed by tests/tuning/test_postgres.py)..."
    export DEBIAN_FRONTEND=noninteractive
    # the test creates its own cluster: do not create (and start) the default one
    mkdir -p /etc/postgresql-common
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
    fi
    apt-get update -qq
    # keep our createcluster.conf without a prompt (dpkg conffile or ucf)
    export UCF_FORCE_CONFFOLD=1
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        postgresql >/dev/null
    if have_postgres; then
        echo "ensure_postgres: installed $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)."
        exit 0
    fi
    echo "ensure_postgres: apt-get finished but initdb/pg_ctl are still missing." >&2
    exit 1
fi

echo "ensure_postgres: PostgreSQL's initdb and pg_ctl are missing and cannot be installed here (needs root and apt-get)." >&2
echo "ensure_postgres: install the PostgreSQL server yourself, or set LAMINA_SKIP_POSTGRES=1 to skip the PostgreSQL test." >&2
exit 0
