#!/usr/bin/env bash
# Installs everything keel needs on a Debian 12 machine, as root, and builds it. Idempotent:
# when everything is in place it only runs the incremental TypeScript build (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'keel setup: %s\n' "$*" >&2; }

# 1. Debian packages
missing=()
while read -r pkg; do
  [ -z "$pkg" ] || [[ "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done < scripts/apt-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. npm packages (native ones are built from source: there is no prebuilt download here)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (native modules compile; the first time takes a minute or two)"
  npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
  touch node_modules/.package-lock.json
fi

# 3. The native addon, against the Node headers the machine has (there is no download here)
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi
addon=native/build/Release/keel_native.node
sup=native/build/Release/keel-supervisor
pause=native/build/Release/keel-pause
if [ ! -f "$addon" ] || [ ! -f "$sup" ] || [ ! -f "$pause" ] || [ -n "$(find native/src native/supervisor native/CMakeLists.txt -newer "$addon" -print -quit)" ] \
   || [ -n "$(find native/supervisor -newer "$sup" -print -quit)" ]; then
  say "building the native addon (cmake-js)"
  ./node_modules/.bin/cmake-js compile --directory native --out native/build --log-level error >/dev/null
  touch "$addon" "$sup" "$pause"  # ninja skips targets it finds up to date; mark both as built now
fi

# 4. TypeScript (incremental); the two commands are runnable as they are (podman runs
#    dist/cli/keel-runc.js as its OCI runtime)
./node_modules/.bin/tsc -p tsconfig.json
bash scripts/bundle.sh
chmod +x dist/cli/keel.js dist/cli/keel-runc.js dist/cli/keel-runc.bundle.js dist/bundle/keel.js

# 5. The demo and test image `busybox`, built from Debian's busybox-static (reproducible; a
#    no-op when the store already has it), so `keel run busybox ...` needs no registry.
node dist/bundle/keel.js image build --busybox >/dev/null
