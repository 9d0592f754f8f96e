#!/usr/bin/env bash
# The main job, on a fresh machine: set everything up (scripts/setup.sh), diagnose the bundled example
# case (terminal report, JSON, HTML and PDF under ./out/), then start the web service with every example
# case loaded and an engineer demo account printed on start-up.
#
#   scripts/demo.sh                 # the above; Ctrl-C stops the service
#   scripts/demo.sh --no-serve      # stop after the reports
#   scripts/demo.sh CASE_DIR        # diagnose another case
set -euo pipefail
cd "$(dirname "$0")/.."

serve=1
CASE=examples/cases/rebalance-us2000c-cell-imbalance
for arg in "$@"; do
  case "$arg" in
    --no-serve) serve=0 ;;
    *) CASE="$arg" ;;
  esac
done

scripts/setup.sh
mkdir -p out
.venv/bin/pylondiag diagnose "$CASE"
.venv/bin/pylondiag diagnose "$CASE" --format json --output out/diagnosis.json
.venv/bin/pylondiag diagnose "$CASE" --format html --output out/report.html
.venv/bin/pylondiag diagnose "$CASE" --format pdf --output out/report.pdf
echo
echo "Reports written: out/diagnosis.json  out/report.html  out/report.pdf"

if [ "$serve" = 1 ]; then
  echo "Starting the web service on http://127.0.0.1:${PYLONDIAG_PORT:-8000}/ (Ctrl-C to stop)"
  exec .venv/bin/pylondiag serve --demo --host 127.0.0.1 --port "${PYLONDIAG_PORT:-8000}" \
    --data-dir "${PYLONDIAG_DATA:-./pylondiag-data}"
fi
