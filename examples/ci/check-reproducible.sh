#!/usr/bin/env bash
# Pin your own experiment in CI: it must keep producing the digest of a committed reference result.
#
#   bash examples/ci/check-reproducible.sh --update   # once, and after an intended change: commit the result
#   bash examples/ci/check-reproducible.sh            # in CI: exit 0 if bit-identical, 13 with an account if not
#
# Settings (environment): EXPERIMENT (a built-in name or your .mjs file), PINNED_RESULT (where the
# reference result is committed), SEED, PRESET.
set -euo pipefail
EXPERIMENT=${EXPERIMENT:-examples/custom-experiment.mjs}
PINNED_RESULT=${PINNED_RESULT:-examples/ci/pinned-result.json}
SEED=${SEED:-12345}
PRESET=${PRESET:-smoke}

if [[ "${1:-}" == "--update" ]]; then
  npx axiom run "$EXPERIMENT" --preset "$PRESET" --seed "$SEED" --out "$PINNED_RESULT"
  echo "pinned: commit $PINNED_RESULT"
  exit 0
fi
if [[ ! -f "$PINNED_RESULT" ]]; then
  echo "no reference result at $PINNED_RESULT: run '$0 --update' and commit it" >&2
  exit 2
fi
# Re-runs exactly what the reference recorded (experiment file or name, params, seed, backend).
npx axiom reproduce "$PINNED_RESULT"
