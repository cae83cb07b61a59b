import type { Tolerance } from '@axiom/runner';

/**
 * Cross-backend tolerances the experiments share (each experiment's comment says what was measured).
 * Accuracies and rates over examples: identical at the smoke presets, but over a real sweep's longer
 * training a few predictions may flip between backends.
 */
export const FEW_PREDICTIONS_FLIP: Tolerance = { absolute: 0.01, relative: 0 };
/** Verdicts (true/false) must be the same on every backend. */
export const SAME_VERDICT: Tolerance = { absolute: 0, relative: 0 };
