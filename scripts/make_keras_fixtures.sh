#!/usr/bin/env bash
# Rebuilds tests/fixtures/keras/ with real Keras 3 in its own virtual environment.
#   1. Keras writes small models of each layer family, their weights, inputs and outputs;
#   2. Lamina loads each file and writes it back (tests/fixtures/keras/lamina_written/);
#   3. Keras loads Lamina's files and records its outputs there, for the test suite.
# Usage: scripts/make_keras_fixtures.sh   (KERAS_VENV and LAMINA_PYTHON may be overridden)
set -euo pipefail
cd "$(dirname "$0")/.."
KERAS_VENV="${KERAS_VENV:-/tmp/kerasenv}"
LAMINA_PYTHON="${LAMINA_PYTHON:-.venv/bin/python}"
if [ ! -x "$KERAS_VENV/bin/python" ]; then
  python3 -m venv "$KERAS_VENV"
  "$KERAS_VENV/bin/pip" install -q "torch==2.13.0" keras h5py numpy
fi
export KERAS_BACKEND=torch
rm -rf tests/fixtures/keras
"$KERAS_VENV/bin/python" scripts/make_keras_fixtures.py keras
$LAMINA_PYTHON scripts/make_keras_fixtures.py lamina  # may hold arguments: "env PYTHONPATH=... python"
"$KERAS_VENV/bin/python" scripts/make_keras_fixtures.py keras-check
du -sh tests/fixtures/keras
