#!/usr/bin/env bash
# Runs keel's test suite (node:test) from the compiled tree, as root:
#   1. everything under dist/test except v2/ and *.slow.test.js, in a private mount namespace
#      so that no mount a test makes can reach the host;
#   2. dist/test/v2/* once inside the pure cgroup-v2 virtual machine (../shared/tools/v2vm),
#      skipped with a message when that tool is missing or exits 77;
#   3. with KEEL_SLOW=1 (npm run test:slow), the *.slow.test.js files too.
# Extra arguments are test files to run instead of the whole suite.
set -uo pipefail
cd "$(dirname "$0")/.."
export KEEL_TEST=1
if [ $# -gt 0 ]; then
  exec unshare -m --propagation private node --test --test-reporter=spec "$@"
fi
files=$(find dist/test -name '*.test.js' -not -path 'dist/test/v2/*' | { if [ "${KEEL_SLOW:-}" = 1 ]; then cat; else grep -v '\.slow\.test\.js$'; fi; } | sort)
rc=0
unshare -m --propagation private node --test --test-reporter=spec $files || rc=$?

v2files=$(find dist/test/v2 -name '*.test.js' 2>/dev/null | sort)
v2vm=../shared/tools/v2vm
if [ -n "$v2files" ]; then
  if [ -x "$v2vm" ]; then
    echo "# cgroup v2 tests in the v2 virtual machine (one boot)"
    "$v2vm" --timeout 900 -- node --test --test-reporter=spec $v2files
    v=$?
    if [ $v -eq 77 ]; then echo "# SKIP cgroup v2 tests: v2vm has no usable accelerator here (exit 77)"
    elif [ $v -ne 0 ]; then rc=$v; fi
  else
    echo "# SKIP cgroup v2 tests: $v2vm not found"
  fi
fi
exit $rc
