#!/usr/bin/env bash
# Runs one tier of tests with Node's built-in test runner (TypeScript through tsx).
#   run-tests.sh unit|integration|e2e [test files…] [-- extra node --test args]
# Without files, every test/<tier>/**/*.test.ts runs.
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:?usage: run-tests.sh unit|integration|e2e [files…] [-- node args]}; shift
files=(); extra=()
while (($#)); do
  if [[ $1 == -- ]]; then shift; extra=("$@"); break; fi
  files+=("$1"); shift
done
if ((${#files[@]} == 0)); then mapfile -t files < <(find "test/$tier" -name '*.test.ts' | sort); fi
if ((${#files[@]} == 0)); then echo "no $tier tests"; exit 0; fi
# integration and e2e tests share kernel state and the machine's cores: one file at a time. Unit files
# run one per core (node's default is one fewer, i.e. one at a time on 2 cores): many of them wait on
# child processes (shellcheck, bash against stubs, ssh -G), so 2 at once took the tier from 59 to 35 s here.
conc=(--test-concurrency=1)
[[ $tier == unit ]] && conc=(--test-concurrency="$(nproc)")
exec node --import tsx --test --test-reporter=spec "${conc[@]}" "${extra[@]}" "${files[@]}"
