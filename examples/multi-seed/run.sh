#!/usr/bin/env bash
# A small multi-seed sweep on this machine, then the statistics across seeds and an HTML report.
#
#   bash examples/multi-seed/run.sh [DIR]     # from the repository, after npm ci; DIR defaults to multi-seed-results
#
# Prints the table of `axiom analyze` (n = distinct seeds, mean, sd, 95% CI, the headline finding, and a
# WARNING first if any replicate is not independent) and writes DIR/report.html.
# Settings (environment): EXPERIMENT (a built-in name or your .mjs file), PRESET, SEEDS (a list), and
# AXIOM, the command to run (default: npx axiom).
set -euo pipefail
DIR=${1:-multi-seed-results}
EXPERIMENT=${EXPERIMENT:-memorization-dynamics}
PRESET=${PRESET:-smoke}
SEEDS=${SEEDS:-1 2 3 4 5}
read -r -a axiom <<< "${AXIOM:-npx axiom}"

mkdir -p "$DIR"
for seed in $SEEDS; do
  out="$DIR/$(basename "$EXPERIMENT" .mjs)-seed$seed.json"
  "${axiom[@]}" run "$EXPERIMENT" --preset "$PRESET" --seed "$seed" --out "$out" > /dev/null
  echo "seed $seed: $out"
done
"${axiom[@]}" analyze "$DIR"
"${axiom[@]}" report "$DIR" -o "$DIR/report.html"
