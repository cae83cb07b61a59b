/**
 * Emergence as a property of the metric (Wei et al. 2022, "Emergent abilities of large language models";
 * Schaeffer, Miranda & Koyejo 2023, "Are emergent abilities of large language models a mirage?"). The
 * answer has k parts: k independent yes/no sub-problems read from one input (the signs of k random
 * teacher networks of the same Gaussian input). Students of increasing width learn all k at once, one
 * output per part. On held-out inputs we score each width twice: exact match (all k parts right, the
 * discontinuous metric) and per-part accuracy (continuous), with the log-likelihood of the whole answer
 * beside them. Known result: exact match stays near zero over the small widths and rises late, looking
 * "emergent", while per-part accuracy and log-likelihood rise smoothly from the start; exact match is
 * predicted by per-part^k, so the sharpness comes from the metric. The control for the exact-match
 * metric is the per-part metric of the same networks. At this scale, sampled at every doubling of width,
 * neither curve jumps in one step (the largest step is about a quarter of either rise): what looks
 * emergent is exact match's late onset, which per-part^k predicts.
 */
import { defineExperiment, type JsonObject, type Tf } from '@axiom/runner';
import { mean } from 'simple-statistics';
import { z } from 'zod';
import { sampleTeacherSigns, teacherTask, type RegressionDataset } from './lib/data.js';
import { createStackedMlp, memberLosses, trainStacked, type StackedMlp } from './lib/stacked.js';
import { epochSteps, metricsWhere, repeat, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { readBatches, sliceRows, uploadRegressionDataset, type TrainingSet } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  parts: z.number().int().min(2).default(16).describe('k: yes/no parts per answer, each the sign of its own random teacher'),
  widths: z
    .array(z.number().int().min(1))
    .min(3)
    .default([1, 2, 4, 8, 16, 32, 64, 128])
    .describe('hidden widths of the students, smallest first: the scale axis'),
  replicates: z.number().int().min(1).default(2).describe('initialisations per width, all on the one task of the run'),
  inputDim: z.number().int().min(1).default(16),
  teacherHidden: z.number().int().min(1).default(4).describe('hidden ReLU units of each part’s teacher'),
  trainSize: z.number().int().min(1).default(4000),
  testSize: z.number().int().min(1).default(4000),
  depth: z.number().int().min(1).default(1).describe('hidden ReLU layers of the students, each `width` wide'),
  epochs: z.number().int().min(1).default(30),
  batchSize: z.number().int().min(1).default(64),
  learningRate: z.number().positive().default(0.003),
  stacking: stackingParam,
  padWidthsUpTo: z
    .number()
    .int()
    .min(0)
    .default(16)
    .describe('with stacking, widths up to this train in one stack, zero-padded to the widest of them (padded units stay exactly zero); 0: each width alone'),
});
type Params = z.infer<typeof params>;

/** Narrow widths train in one stack, zero-padded to the widest of them; wider ones each in their own. */
const stackOf = (p: Pick<Params, 'padWidthsUpTo'>, width: number) => (width <= p.padWidthsUpTo ? `width≤${p.padWidthsUpTo}` : `width=${width}`);

// Metrics.

/** How a network's answers score: per part and all parts at once. */
export type AnswerScores = {
  /** Fraction of (example, part) pairs right. */
  partAccuracy: number;
  /** Fraction of examples with every part right. */
  exactMatch: number;
  /** Each part's accuracy. */
  partAccuracies: number[];
};

/** Scores `logits` (rows × parts, row-major) against 0/1 `targets` of the same layout. */
export function scoreAnswers(logits: ArrayLike<number>, targets: ArrayLike<number>, parts: number): AnswerScores {
  const rows = targets.length / parts;
  const partRight = new Array<number>(parts).fill(0);
  let exact = 0;
  for (let row = 0; row < rows; row++) {
    let allRight = true;
    for (let part = 0; part < parts; part++) {
      const logit = logits[row * parts + part]!;
      if (targets[row * parts + part] === 1 ? logit > 0 : logit < 0) partRight[part]!++;
      else allRight = false;
    }
    if (allRight) exact++;
  }
  return {
    partAccuracy: partRight.reduce((a, b) => a + b, 0) / (rows * parts),
    exactMatch: exact / rows,
    partAccuracies: partRight.map((right) => right / rows),
  };
}

/** How sharply a metric rises across the sweep (`values` by increasing scale, `scales` > 0); null without a rise. */
export interface Sharpness {
  /** The largest rise between neighbouring scales, as a share of the total rise (first to last). */
  largestJumpShare: number | null;
  /** The share of the total rise already made at the sweep's middle scale (geometric mean of the ends, interpolated in log scale): small for a late, "emergent" rise. */
  riseByMidpoint: number | null;
}

export function sharpness(scales: readonly number[], values: readonly number[]): Sharpness {
  const rise = values.at(-1)! - values[0]!;
  if (!(rise > 0)) return { largestJumpShare: null, riseByMidpoint: null };
  const jumps = values.slice(1).map((value, i) => value - values[i]!);
  const logScales = scales.map(Math.log);
  const middle = (logScales[0]! + logScales.at(-1)!) / 2;
  const above = logScales.findIndex((logScale) => logScale >= middle);
  const fraction = above === 0 ? 0 : (middle - logScales[above - 1]!) / (logScales[above]! - logScales[above - 1]!);
  const atMiddle = above === 0 ? values[0]! : values[above - 1]! + fraction * (values[above]! - values[above - 1]!);
  return { largestJumpShare: Math.max(...jumps) / rise, riseByMidpoint: (atMiddle - values[0]!) / rise };
}

/**
 * Every member's logits on the test set (member m's rows × outputs, row-major) and its mean loss (sigmoid
 * cross-entropy per output), from one forward pass and one read back per batch.
 */
async function testAnswers(tf: Tf, model: StackedMlp, test: TrainingSet, batchSize = 1024): Promise<{ logits: Float32Array[]; losses: number[] }> {
  const [rows, outputs, members] = [test.x.shape[0], model.shape.outputDim, model.members];
  const logits = Array.from({ length: members }, () => new Float32Array(rows * outputs));
  const totals = new Array<number>(members).fill(0);
  await readBatches(
    tf,
    rows,
    batchSize,
    (start, size) => {
      const batchLogits = model.logits(sliceRows(tf, test.x, start, size));
      const losses = memberLosses(tf, 'binary-cross-entropy', sliceRows(tf, test.targets, start, size), batchLogits);
      // Each member's row: its logits, then its loss.
      return tf.concat([tf.reshape(batchLogits, [members, size * outputs]), tf.reshape(losses, [members, 1])], 1);
    },
    (values, start, size) => {
      const width = size * outputs + 1;
      logits.forEach((memberLogits, m) => {
        memberLogits.set(values.subarray(m * width, m * width + size * outputs), start * outputs);
        totals[m]! += values[m * width + size * outputs]! * size;
      });
    },
  );
  return { logits, losses: totals.map((total) => total / rows) };
}

export default defineExperiment({
  name: 'emergence',
  version: '1.1.0',
  description: 'An answer of k parts: does exact match rise "emergently" with width while per-part accuracy rises smoothly, with exact ≈ per-part^k?',
  params,
  presets: {
    smoke: { parts: 8, widths: [1, 4, 16, 64], replicates: 1, trainSize: 1000, testSize: 1000, epochs: 10, learningRate: 0.01 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3: every
  // accuracy and exact match identical, log-likelihoods within 2.5e-8. Set for the real sweep's longer training,
  // where a few predictions may flip; the shares of a rise move by about 3× the values they are made of.
  headline: [
    { metric: 'byWidth.*.partAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'byWidth.*.exactMatch', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'sharpness.exactMatch.riseByMidpoint', tolerance: { absolute: 0.03, relative: 0 } },
    { metric: 'sharpness.partAccuracy.riseByMidpoint', tolerance: { absolute: 0.03, relative: 0 } },
    { metric: 'largestPredictionError', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'lateRise', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'exact match makes little of its rise over the smaller half of the widths (emergent-looking); share of the rise made by the middle width',
        measure: 'sharpness.exactMatch.riseByMidpoint',
        control: 'sharpness.partAccuracy.riseByMidpoint',
        controlLabel: 'per-part accuracy',
      },
      {
        claim: 'largest rise between neighbouring widths, as a share of the total rise (at width doublings neither metric jumps)',
        measure: 'sharpness.exactMatch.largestJumpShare',
        control: 'sharpness.partAccuracy.largestJumpShare',
        controlLabel: 'per-part accuracy',
      },
      {
        claim: 'exact match, mean over widths, is what per-part accuracy^k predicts',
        measure: 'overWidths.exactMatch',
        control: 'overWidths.predictedExactMatch',
        controlLabel: 'per-part accuracy^k',
      },
    ],
    scalars: [{ label: 'exact match vs per-part accuracy^k', fields: { largestPredictionError: 'largest |exact − per-part^k| over widths' } }],
    keyed: {
      table: 'byWidth',
      keyLabel: 'width',
      fields: { exactMatch: 'exact match', predictedExactMatch: 'per-part^k', partAccuracy: 'per-part accuracy' },
      axis: 'log',
      title: 'Exact match (all k parts) and per-part accuracy vs width',
    },
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) =>
      p.widths.flatMap((width) =>
        repeat(p.replicates, {
          layers: [p.inputDim, ...repeat(p.depth, width), p.parts],
          trainPasses: p.trainSize * p.epochs,
          // Test answers are scored after every epoch.
          evalPasses: p.testSize * p.epochs,
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: stackOf(p, width),
        }),
      ),
    flopsPerSecond: 2.8e10,
    secondsPerStep: 1.2e-3,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = p.widths.flatMap((width) =>
      Array.from({ length: p.replicates }, (_, replicate) => ({ key: `width=${width}/replicate=${replicate}`, config: { width, replicate } })),
    );

    // Data: one task per run, k teachers reading the same input; every width learns the same examples.
    const teachers = Array.from({ length: p.parts }, (_, part) => teacherTask(ctx.rng('teacher', part), { inputDim: p.inputDim, hidden: p.teacherHidden }));
    const trainData: RegressionDataset = sampleTeacherSigns(ctx.rng('train'), teachers, p.trainSize);
    const testData: RegressionDataset = sampleTeacherSigns(ctx.rng('test'), teachers, p.testSize);

    // Widths train in one stack each; the narrow ones together, zero-padded to the widest of them (at those
    // widths a step costs the same whatever the width).
    const { results, stackedGroups } = await stackedSweep(
      ctx,
      units,
      ({ width }) => stackOf(p, width),
      async (group, session) => {
        const train = uploadRegressionDataset(tf, trainData);
        const test = uploadRegressionDataset(tf, testData);

        // Model: a ReLU MLP with one logit per part.
        const memberHidden = group.map((unit) => repeat(p.depth, unit.config.width));
        const model = createStackedMlp(
          tf,
          group.map((unit) => unit.rng('init')),
          { inputDim: p.inputDim, hidden: repeat(p.depth, Math.max(...group.map((unit) => unit.config.width))), outputDim: p.parts },
          memberHidden,
        );

        // Training: each part's own yes/no loss (sigmoid cross-entropy), averaged over parts; after every epoch
        // the test answers are scored (records survive a restart).
        const members = session.record('members', () =>
          group.map(() => ({
            curves: { partAccuracy: [] as number[], exactMatchAccuracy: [] as number[], logLikelihood: [] as number[] },
            latest: null as (AnswerScores & { logLikelihood: number }) | null,
          })),
        );
        try {
          await trainStacked({
            tf,
            model,
            train,
            members: group.map((unit) => ({ learningRate: p.learningRate, shuffle: unit.rng('shuffle') })),
            epochs: p.epochs,
            batchSize: p.batchSize,
            optimizer: 'adam',
            loss: 'binary-cross-entropy',
            session,
            onEpoch: async () => {
              // The log-likelihood of the whole answer, Σ_parts log σ(±logit) averaged over examples, is −parts times
              // the mean per-part loss (sigmoid cross-entropy, summed in double by the loss kernel).
              const { logits, losses } = await testAnswers(tf, model, test);
              members.forEach((member, m) => {
                const scores = { ...scoreAnswers(logits[m]!, testData.targets, p.parts), logLikelihood: -p.parts * losses[m]! };
                member.curves.partAccuracy.push(scores.partAccuracy);
                member.curves.exactMatchAccuracy.push(scores.exactMatch);
                member.curves.logLikelihood.push(scores.logLikelihood);
                member.latest = scores;
              });
            },
          });
        } finally {
          [model, train, test].forEach((disposable) => disposable.dispose());
        }

        // Metrics, per unit: the scores after the last epoch.
        return members.map(({ curves, latest }) => ({
          metrics: {
            partAccuracy: latest!.partAccuracy,
            exactMatch: latest!.exactMatch,
            predictedExactMatch: latest!.partAccuracy ** p.parts,
            logLikelihood: latest!.logLikelihood,
            partAccuracies: latest!.partAccuracies,
          },
          curves,
        }));
      },
    );

    // Headline: per width, averaged over replicates; then how sharply each metric rises across widths.
    const byWidth: Record<string, Record<'partAccuracy' | 'exactMatch' | 'predictedExactMatch' | 'logLikelihood', number>> = {};
    for (const width of p.widths) {
      const atWidth = metricsWhere(results, 'width', width);
      const average = (field: string) => mean(atWidth.map((metrics) => metrics[field] as number));
      byWidth[String(width)] = {
        partAccuracy: average('partAccuracy'),
        exactMatch: average('exactMatch'),
        predictedExactMatch: average('predictedExactMatch'),
        logLikelihood: average('logLikelihood'),
      };
    }
    const across = (field: 'partAccuracy' | 'exactMatch' | 'logLikelihood') =>
      sharpness(
        p.widths,
        p.widths.map((width) => byWidth[String(width)]![field]),
      );
    const sharpnessOf = { exactMatch: across('exactMatch'), partAccuracy: across('partAccuracy'), logLikelihood: across('logLikelihood') };
    const overWidths = (field: 'exactMatch' | 'predictedExactMatch') => mean(p.widths.map((width) => byWidth[String(width)]![field]));
    return {
      byWidth: byWidth as JsonObject,
      sharpness: sharpnessOf as unknown as JsonObject,
      overWidths: { exactMatch: overWidths('exactMatch'), predictedExactMatch: overWidths('predictedExactMatch') },
      largestPredictionError: Math.max(...p.widths.map((width) => Math.abs(byWidth[String(width)]!.exactMatch - byWidth[String(width)]!.predictedExactMatch))),
      stackedGroups,
      // Emergent-looking: exact match makes less of its rise by the middle width than both continuous metrics.
      lateRise: [sharpnessOf.partAccuracy, sharpnessOf.logLikelihood].every(
        (continuous) => (sharpnessOf.exactMatch.riseByMidpoint ?? 1) < (continuous.riseByMidpoint ?? 0),
      ),
    };
  },
});
