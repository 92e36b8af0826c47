#!/usr/bin/env bash
# One command from a fresh clone to a built example: installs the npm
# packages, Python with TensorFlow (for the parity tests), Debian's Chromium
# and WebKitGTK WebDriver with Xvfb (for the browser tests, when this user can
# install packages), actionlint
# (for `npm run lint`'s workflow check, when Go is installed), builds the
# Rust core and the TypeScript, then builds examples/web — which converts the
# detector checkpoint in fixtures/ at build time.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== npm packages"
npm ci --no-audit --no-fund

echo "== Python with TensorFlow, for the parity tests (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt

echo "== Chromium, and WebKitGTK's WebDriver on Xvfb, for the browser tests"
# WebKit is the engine of iOS WKWebView; Debian's webkit2gtk-driver is the closest we can run.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v WebKitWebDriver >/dev/null 2>&1 || missing+=(webkit2gtk-driver)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
if [ ${#missing[@]} -eq 0 ]; then
  echo "chromium, webkit2gtk-driver and xvfb are installed"
else
  apt=(apt-get)
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && apt=(sudo apt-get)
  if [ "$(id -u)" -eq 0 ] || [ "${apt[0]}" = sudo ]; then
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -q
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "cannot install ${missing[*]} (not root, no sudo): the browser tests that need them will report themselves skipped"
  fi
fi

echo "== actionlint, for the workflow files (.cache/bin)"
if command -v go >/dev/null 2>&1; then
  GOBIN="$PWD/.cache/bin" go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
else
  echo "no Go toolchain: actionlint is not installed, and npm run lint skips the workflow check"
fi

echo "== build: Rust core (napi-rs) and TypeScript"
npm run build

echo "== build: examples/web (converts fixtures/detector/model.ckpt)"
npx vite build examples/web

echo
echo "Built examples/web/dist. View it with: npm run preview"
