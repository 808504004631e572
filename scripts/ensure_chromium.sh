#!/usr/bin/env bash
# Makes sure headless Chromium is available for the report test (tests/workflow/report/test_report_html.py
# opens the HTML report in it and checks that every plot image loads).
#
# Idempotent and quiet: does nothing when /usr/bin/chromium exists. Otherwise, as
# root on a Debian/Ubuntu machine, installs Debian's `chromium` package with apt-get.
# Elsewhere it prints what to do and exits 0 (the test then fails with the same hint,
# unless LAMINA_SKIP_BROWSER=1 is set).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: installing Debian's chromium package (needed by tests/workflow/report/test_report_html.py)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
    if [ -x "$CHROMIUM" ]; then
        echo "ensure_chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)."
        exit 0
    fi
    echo "ensure_chromium: apt-get finished but $CHROMIUM is still missing." >&2
    exit 1
fi

echo "ensure_chromium: $CHROMIUM is missing and cannot be installed here (needs root and apt-get)." >&2
echo "ensure_chromium: install Chromium yourself, or set LAMINA_SKIP_BROWSER=1 to skip the browser check." >&2
exit 0
