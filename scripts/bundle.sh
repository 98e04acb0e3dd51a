#!/bin/bash
# The two shipped entry points as esbuild bundles of the compiled tree (dist/), run by setup
# after tsc; run it yourself after a tsc when you try the commands by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
banner="--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
# keel-runc as one file (no splitting): podman starts it three times per container, and one
# bundle loads about 25-30 ms faster than ~100 separate modules.
./node_modules/.bin/esbuild dist/cli/keel-runc.js --bundle --platform=node --format=esm \
  --outfile=dist/cli/keel-runc.bundle.js --external:better-sqlite3 --external:*.node --log-level=warning \
  "$banner"
# keel itself as a bundle with one chunk per verb group (the groups are imported lazily): one
# file to read and compile per group instead of ~100 modules, ~50 ms off every `keel run`. It
# finds its files from the package root (lib/package-root.ts), so it may sit in dist/bundle/.
./node_modules/.bin/esbuild dist/cli/keel.js --bundle --splitting --platform=node --format=esm \
  --outdir=dist/bundle --entry-names=[name] --chunk-names=chunks/[name]-[hash] \
  --external:better-sqlite3 --external:*.node --log-level=warning \
  "$banner"
