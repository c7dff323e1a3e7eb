#!/usr/bin/env bash
# Runs one tier of tests with Node's built-in test runner (TypeScript through tsx).
#   run-tests.sh unit|integration|e2e [extra node --test args]
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:?usage: run-tests.sh unit|integration|e2e}; shift
mapfile -t files < <(find "test/$tier" -name '*.test.ts' | sort)
if ((${#files[@]} == 0)); then echo "no $tier tests"; exit 0; fi
# e2e and integration tests share kernel state and the machine's 2 cores: run files one at a time.
conc=()
[[ $tier == unit ]] || conc=(--test-concurrency=1)
exec node --import tsx --test --test-reporter=spec "${conc[@]}" "$@" "${files[@]}"
