#!/usr/bin/env bash
# Checks .github/workflows/*.yml with actionlint (expressions, runner labels,
# action inputs, job needs; the `run:` scripts too when shellcheck is
# installed). scripts/setup.sh installs actionlint into .cache/bin when Go is
# there; without it this check says it was skipped rather than passed.
set -euo pipefail
cd "$(dirname "$0")/.."

actionlint=.cache/bin/actionlint
[ -x "$actionlint" ] || actionlint=$(command -v actionlint || true)
if [ -z "$actionlint" ]; then
  echo "actionlint: skipped (not installed; scripts/setup.sh installs it when Go is present)"
  exit 0
fi
"$actionlint"
echo "actionlint: .github/workflows is clean"
