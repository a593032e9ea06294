#!/usr/bin/env bash
# Build the web chat widget into web/dist/ (served by `python -m sga_tools.webchat`).
#
#   scripts/setup-web.sh            npm ci (only when package-lock.json changed) and build (only when
#                                   the sources changed); about a second when nothing changed
#   scripts/setup-web.sh --browser  also make sure Debian's chromium is installed, for the browser
#                                   test (tests/integration/test_webchat.py)
#
# The browser test's accessibility checker, axe-core (an npm dev dependency), is copied to
# web/test-tools/axe.min.js; it is never part of web/dist/ (the page never loads it).
#
# Everything is installed from the npm registry by npm's own client and bundled locally: the page
# loads nothing from a CDN. Browsers are never downloaded by a test tool (no `playwright install`);
# the browser test uses the system chromium at /usr/bin/chromium.
set -euo pipefail

cd "$(dirname "$0")/../web"
WANT_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --browser) WANT_BROWSER=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "setup-web.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "error: Node.js 18+ and npm are needed to build the web widget." >&2
  echo "       Install them (Debian/Ubuntu: apt-get install nodejs npm) and run make again." >&2
  exit 1
fi
if ! node -e 'process.exit(parseInt(process.versions.node) >= 18 ? 0 : 1)'; then
  echo "error: Node.js $(node --version) is too old for the web widget; 18 or newer is needed." >&2
  exit 1
fi

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 1. Packages: exactly what package-lock.json says, re-installed only when it changes.
#    --ignore-scripts: no install scripts run (esbuild finds its platform binary without one).
deps_hash=$(hash_of package.json package-lock.json)
if [[ ! -f node_modules/.sga-installed || "$(cat node_modules/.sga-installed)" != "$deps_hash" ]]; then
  echo "Installing the web widget's npm packages (npm ci)..."
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$deps_hash" > node_modules/.sga-installed
fi

# 2. The bundle: rebuilt only when a source, the build script or the packages change.
build_hash=$(hash_of build.mjs tsconfig.json index.html package-lock.json $(find src -type f | sort))
if [[ ! -f dist/.sga-built || "$(cat dist/.sga-built)" != "$build_hash" || ! -f dist/widget.js ]]; then
  echo "Building the web widget into web/dist/..."
  node build.mjs
  echo "$build_hash" > dist/.sga-built
fi

# 3. The accessibility checker for the browser test, from the npm package (never a CDN).
mkdir -p test-tools
if [[ ! -f test-tools/axe.min.js || node_modules/axe-core/axe.min.js -nt test-tools/axe.min.js ]]; then
  cp node_modules/axe-core/axe.min.js test-tools/axe.min.js
fi

# 4. The browser for the browser test (Debian's chromium; never a downloaded one).
if [[ $WANT_BROWSER == 1 && ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser test..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium is missing; the browser test will fail until it is installed:" >&2
    echo "         sudo apt-get update && sudo apt-get install -y chromium" >&2
  fi
fi
exit 0
