#!/usr/bin/env bash
# Runs the replication integration tests (idle, replay paused, receiver cut,
# WAL loss, primary down, headroom by PostgreSQL's rule, slot states,
# cascade, archive, sync) against each PostgreSQL major version in the lab,
# and prints the run time per version.
#
#   scripts/test-matrix.sh [VERSION...]     default: 13 14 15 16 17 18
#
# LAB_DIR, LAB_PG_PORT and LAB_OCSP_PORT choose the lab's directory and
# ports as for lab/lab.sh; TEST_MATRIX_RUN overrides the -run pattern.
set -uo pipefail
cd "$(dirname "$0")/.."
versions=("$@")
((${#versions[@]})) || versions=(13 14 15 16 17 18)
run=${TEST_MATRIX_RUN:-TestReplication}
declare -A result secs
failed=0
for v in "${versions[@]}"; do
  echo "=== PostgreSQL $v" >&2
  start=$(date +%s)
  if LAB_PG_VERSION=$v go test -p 1 -count=1 -timeout 30m -run "$run" ./integration/; then
    result[$v]=pass
  else
    result[$v]=FAIL
    failed=1
  fi
  secs[$v]=$(($(date +%s) - start))
done
LAB_PG_VERSION=${versions[-1]} bash lab/lab.sh destroy >/dev/null 2>&1 || true
echo
echo "PostgreSQL  result  seconds"
passed=0
for v in "${versions[@]}"; do
  printf '%-11s %-7s %s\n' "$v" "${result[$v]}" "${secs[$v]}"
  [ "${result[$v]}" = pass ] && passed=$((passed + 1))
done
echo "matrix: $passed passed, $((${#versions[@]} - passed)) failed"
exit $failed
