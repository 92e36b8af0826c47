#!/usr/bin/env bash
# The benchmarks' peer tools that TensorFlow's wheel does not hold:
# tensorflowjs_converter 4.22, in its own venv (.cache/peers), beside
# TensorFlow 2.21. Its pinned dependencies do not resolve with TF 2.21, so it
# goes in without them, and the few it imports come first.
# Run by `npm run bench`; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.cache/peers
if [ -x "$venv/bin/tensorflowjs_converter" ]; then
  exit 0
fi
echo "== tensorflowjs_converter 4.22, for the benchmarks ($venv)"
python3 -m venv "$venv"
pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
"${pip[@]}" tensorflow-cpu==2.21.0 jax six importlib_resources
"${pip[@]}" --no-deps tensorflowjs==4.22.0 tensorflow-hub==0.16.1 tf-keras==2.21.0
# tensorflowjs imports tensorflow_decision_forests at start-up, even for graph
# models; an empty module satisfies the import.
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$site/tensorflow_decision_forests"
touch "$site/tensorflow_decision_forests/__init__.py"
