#!/usr/bin/env bash
# Vendors front-end files from the npm registry with `npm pack` (no node_modules), at the
# versions recorded here. Run it to update; the result is committed.
#   axe-core: accessibility checks run by the browser tests (web/testdata/axe.min.js).
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_VERSION=4.14.1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "axe-core@${AXE_VERSION}" >/dev/null && tar -xzf "axe-core-${AXE_VERSION}.tgz")
mkdir -p web/testdata
cp "$tmp/package/axe.min.js" web/testdata/axe.min.js
cp "$tmp/package/LICENSE" web/testdata/axe.LICENSE
echo "axe-core ${AXE_VERSION}" > web/testdata/VERSIONS
echo "vendored axe-core ${AXE_VERSION} into web/testdata/"
