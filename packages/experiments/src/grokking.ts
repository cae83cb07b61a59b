/**
 * Grokking (Power et al. 2022, "Grokking: generalization beyond overfitting on small algorithmic data sets";
 * Nanda et al. 2023, "Progress measures for grokking via mechanistic interpretability"; Liu et al. 2022,
 * "Omnigrok: grokking beyond algorithmic data"). A one-hidden-layer MLP learns modular addition a + b mod p
 * from the one-hot codes of a and b, seeing a fraction of all p² pairs, trained full-batch with AdamW. We record
 * training and validation accuracy and the weight norm every few steps, the step each accuracy first reaches
 * 99%, and the delay between them. Known result: with weight decay, validation accuracy reaches ~100% long after
 * training accuracy does. Control, in the same stack from the same initialisations and splits: without weight
 * decay the network memorises the training pairs and generalises much later or never. At p = 23 there are only
 * 529 pairs, so the training fraction is 0.7 rather than the papers' 0.3–0.5 at p = 97: in a PyTorch probe of
 * this network, validation accuracy was still 0.59 (fraction 0.5) and 0.93 (0.6) after 8000 steps. Measured
 * (default sweep, seeds 1–3): training accuracy reaches 99% at step 50, validation accuracy at step 2650 ± 1180
 * with weight decay (every network, final 0.995), never without it (validation accuracy 0 throughout: a memoriser
 * gets every held-out sum wrong).
 */
import { defineExperiment } from '@axiom/runner';
import type { Tensor1D } from '@tensorflow/tfjs-core';
import { mean } from 'simple-statistics';
import { z } from 'zod';
import { modularAddition, selectRows } from './lib/data.js';
import { createStackedMlp, predictStackedClasses, trainStacked, uploadStackedDataset, type StackedMlp } from './lib/stacked.js';
import { gridUnits, meanOfNumbers, stackedBenchWorkload, stackedSweep, stackingParam, repeat } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { accuracy, permutationStream } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  modulus: z.number().int().min(2).default(23).describe('p: the task is a + b mod p over all p² pairs'),
  trainFraction: z.number().gt(0).lt(1).default(0.7).describe('fraction of the p² pairs trained on; the rest is the validation set'),
  weightDecay: z.number().positive().default(2).describe("AdamW's decoupled weight decay; the control trains the same networks without"),
  replicates: z.number().int().min(1).default(2).describe('splits and initialisations, each trained with and without weight decay'),
  hidden: z.number().int().min(1).default(256).describe('ReLU units of the one hidden layer'),
  learningRate: z.number().positive().default(0.01),
  steps: z.number().int().min(1).default(5000).describe('full-batch AdamW steps'),
  stepsPerEvaluation: z.number().int().min(1).default(50).describe('steps between measurements of training and validation accuracy'),
  threshold: z.number().gt(0).lte(1).default(0.99).describe('accuracy that counts as reached'),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** Every network has one shape, so all train in one stack. */
const stackOf = (p: Pick<Params, 'modulus'>) => `p=${p.modulus}`;

/** The first step at which a curve measured every `interval` steps reaches `threshold`, or null if it never does. */
export function firstStepReaching(curve: readonly number[], threshold: number, interval: number): number | null {
  const index = curve.findIndex((value) => value >= threshold);
  return index < 0 ? null : (index + 1) * interval;
}

/** Each member's weight norm ‖θ‖₂ over every layer's weights and biases: [M]. */
function weightNorms(tf: Parameters<typeof createStackedMlp>[0], model: StackedMlp): Tensor1D {
  return tf.sqrt(tf.addN(model.variables.map((variable) => tf.sum(tf.square(variable), [1, 2])))) as Tensor1D;
}

export default defineExperiment({
  name: 'grokking',
  version: '1.0.0',
  description: 'Modular addition: does validation accuracy jump long after training accuracy, and only with weight decay?',
  params,
  presets: {
    smoke: { modulus: 11, replicates: 1, hidden: 64, steps: 400, stepsPerEvaluation: 20 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3: every
  // metric identical. Set for the real sweep's longer training, where a few predictions may flip: near the
  // threshold a flip moves the step accuracy first reaches 99% by one evaluation (50 of ~2600 steps).
  headline: [
    { metric: 'withWeightDecay.delaySteps', tolerance: { absolute: 0, relative: 0.05 } },
    { metric: 'withWeightDecay.finalValidationAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'withoutWeightDecay.finalValidationAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'groksWithWeightDecay', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'validation accuracy reaches 99% long after training accuracy does: steps between them (never: counted as the budget)',
        measure: 'withWeightDecay.delaySteps',
        control: 'withoutWeightDecay.delaySteps',
        controlLabel: 'without weight decay',
      },
      {
        claim: 'with weight decay the network generalises: final validation accuracy',
        measure: 'withWeightDecay.finalValidationAccuracy',
        control: 'withoutWeightDecay.finalValidationAccuracy',
        controlLabel: 'without weight decay',
      },
    ],
    keyed: {
      table: 'byWeightDecay',
      keyLabel: 'weight decay',
      fields: {
        trainStep: 'step training accuracy reaches 99%',
        validationStep: 'step validation accuracy reaches 99%',
        finalValidationAccuracy: 'final validation accuracy',
      },
      axis: 'nominal',
      title: 'When training and validation accuracy reach 99%, with and without weight decay',
    },
  },
  bench: stackedBenchWorkload,
  work: {
    networks: (p) =>
      repeat(2 * p.replicates, {
        layers: [2 * p.modulus, p.hidden, p.modulus],
        trainPasses: Math.round(p.trainFraction * p.modulus ** 2) * p.steps,
        evalPasses: p.modulus ** 2 * Math.ceil(p.steps / p.stepsPerEvaluation),
        steps: p.steps,
        stack: stackOf(p),
      }),
    // Fitted to the smoke preset and the default sweep on one WASM thread: `npm run bench -- --work-rates`.
    flopsPerSecond: 2.2e10,
    secondsPerStep: 3.4e-3,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = gridUnits({ weightDecay: [p.weightDecay, 0], replicate: Array.from({ length: p.replicates }, (_, r) => r) });

    // Every network has the same shape and training-set size: one stack.
    const { results, stackedGroups } = await stackedSweep(
      ctx,
      units,
      () => stackOf(p),
      async (group, session) => {
        // Data: replicate r's random split of all pairs; every weight decay trains on the same split.
        const all = modularAddition(p.modulus);
        const trainRows = Math.round(p.trainFraction * all.size);
        const splits = group.map((unit) => ctx.rng('replicate', unit.config.replicate, 'split').permutation(all.size));
        const train = uploadStackedDataset(
          tf,
          splits.map((order) => selectRows(all, order.subarray(0, trainRows))),
        );
        const validation = uploadStackedDataset(
          tf,
          splits.map((order) => selectRows(all, order.subarray(trainRows))),
        );

        // Model: one hidden ReLU layer, replicate r's initialisation for every weight decay.
        const model = createStackedMlp(
          tf,
          group.map((unit) => ctx.rng('replicate', unit.config.replicate, 'init')),
          { inputDim: all.inputDim, hidden: [p.hidden], outputDim: p.modulus },
        );

        // Training: full-batch AdamW; an "epoch" of the loop is `stepsPerEvaluation` steps, after which we measure.
        const curves = session.record('curves', () =>
          group.map(() => ({ trainAccuracy: [] as number[], validationAccuracy: [] as number[], weightNorm: [] as number[] })),
        );
        try {
          await trainStacked({
            tf,
            model,
            train,
            members: group.map((unit) => ({
              learningRate: p.learningRate,
              weightDecay: unit.config.weightDecay,
              shuffle: permutationStream(
                ctx.rng('replicate', unit.config.replicate, 'order'),
                Int32Array.from({ length: trainRows }, (_, i) => i),
                trainRows * p.stepsPerEvaluation,
              ),
            })),
            epochs: Math.ceil(p.steps / p.stepsPerEvaluation),
            batchSize: trainRows,
            optimizer: 'adam',
            session,
            onEpoch: async () => {
              const [trainPredictions, validationPredictions] = [
                await predictStackedClasses(tf, model, train.x),
                await predictStackedClasses(tf, model, validation.x),
              ];
              const norms = tf.tidy(() => weightNorms(tf, model));
              const normValues = await norms.data();
              norms.dispose();
              curves.forEach((curve, m) => {
                curve.trainAccuracy.push(accuracy(trainPredictions[m]!, train.sources[m]!.y));
                curve.validationAccuracy.push(accuracy(validationPredictions[m]!, validation.sources[m]!.y));
                curve.weightNorm.push(normValues[m]!);
              });
            },
          });
        } finally {
          [model, train, validation].forEach((disposable) => disposable.dispose());
        }

        // Metrics, per unit: when each accuracy first reaches the threshold, and the delay between them; a
        // network that never generalises counts as generalising just after the budget (a lower bound).
        const never = Math.ceil(p.steps / p.stepsPerEvaluation) * p.stepsPerEvaluation + p.stepsPerEvaluation;
        return curves.map((curve) => {
          const trainStep = firstStepReaching(curve.trainAccuracy, p.threshold, p.stepsPerEvaluation);
          const validationStep = firstStepReaching(curve.validationAccuracy, p.threshold, p.stepsPerEvaluation);
          return {
            metrics: {
              trainStep,
              validationStep,
              delaySteps: trainStep === null ? null : (validationStep ?? never) - trainStep,
              generalized: validationStep !== null,
              finalTrainAccuracy: curve.trainAccuracy.at(-1)!,
              finalValidationAccuracy: curve.validationAccuracy.at(-1)!,
            },
            curves: curve,
          };
        });
      },
    );

    // Headline: with and without weight decay, averaged over replicates.
    const summary = (weightDecay: number) => {
      const runs = results.filter((r) => r.config.weightDecay === weightDecay).map((r) => r.metrics);
      return {
        trainStep: meanOfNumbers(runs.map((m) => m.trainStep)),
        validationStep: meanOfNumbers(runs.map((m) => m.validationStep)),
        delaySteps: meanOfNumbers(runs.map((m) => m.delaySteps)),
        generalizedFraction: mean(runs.map((m) => (m.generalized ? 1 : 0))),
        finalValidationAccuracy: mean(runs.map((m) => m.finalValidationAccuracy as number)),
      };
    };
    const withWeightDecay = summary(p.weightDecay);
    const withoutWeightDecay = summary(0);
    return {
      stackedGroups,
      withWeightDecay,
      withoutWeightDecay,
      byWeightDecay: { [String(p.weightDecay)]: withWeightDecay, '0': withoutWeightDecay },
      // Grokking: every network with weight decay generalises, and only after it has fit its training pairs.
      groksWithWeightDecay: withWeightDecay.generalizedFraction === 1 && (withWeightDecay.delaySteps ?? 0) > 0,
    };
  },
});
