#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root): installs what it needs
# (Debian packages, npm ci, the lab's root filesystem), builds, then runs unit, integration
# and end-to-end tests. Exit status is non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
bash scripts/install-deps.sh
npm run build --silent
node dist/flanprov.cjs lab rootfs   # builds the lab hosts' root filesystem once (cached)
status=0
for tier in unit integration e2e; do
  echo "=== $tier tests"
  bash scripts/run-tests.sh "$tier" || status=1
done
echo "=== test suite finished in $((SECONDS - t0)) s (status $status)"
exit $status
