#!/usr/bin/env bash
# The layout's rules, checked on what the code imports (go list):
#  1. no package imports both pgx and golang.org/x/crypto/ocsp (database and
#     OCSP code live apart; the lab's tools are not the product);
#  2. domain packages (those that implement exporter.Domain) do not import
#     each other.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
domains=(replication canary crl)
fail=0
while read -r pkg imports; do
  [[ "$pkg" == "$mod/lab/"* ]] && continue # the lab's own tools write OCSP rows into a database
  case " $imports " in
    *" github.com/jackc/pgx/v5"*" golang.org/x/crypto/ocsp "*|*" golang.org/x/crypto/ocsp "*" github.com/jackc/pgx/v5"*)
      echo "$pkg imports both pgx and golang.org/x/crypto/ocsp"; fail=1 ;;
  esac
  for d in "${domains[@]}"; do
    [ "$pkg" = "$mod/$d" ] || continue
    for other in "${domains[@]}"; do
      [ "$other" != "$d" ] && [[ " $imports " == *" $mod/$other "* ]] && { echo "domain $d imports domain $other"; fail=1; }
    done
  done
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)
((fail == 0)) && echo "imports: ok (no package imports both pgx and x/crypto/ocsp; domains ${domains[*]} import no other domain)"
exit $fail
