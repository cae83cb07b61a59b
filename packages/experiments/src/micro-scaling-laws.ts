/**
 * Micro scaling laws (Hestness et al. 2017, "Deep learning scaling is predictable, empirically";
 * Kaplan et al. 2020; Rosenfeld et al. 2020). A student MLP learns to imitate a fixed random teacher
 * network (regression, MSE). Training and validation targets carry Gaussian label noise; test targets
 * are clean, so the test loss is the excess loss, which has no floor. Data sweep: training-set sizes
 * over more than a decade at a fixed large width. Parameter sweep: widths over more than a decade of
 * parameters at a fixed large data size. Every point trains until early stopping on the validation
 * set. We fit L = a·x^(−α) on log–log, and record beside it the fit with an offset c (the part of the
 * loss more x would not remove). Known result (Axiom): data scaling fits well (R² ≈ 0.96–0.98,
 * exponents −0.67 to −0.80); parameter scaling fits poorly (R² ≈ 0.36–0.56, exponents −0.10 to
 * −0.23): at micro scale the bottleneck is data, not capacity. */
import { defineExperiment, type Rng, type UnitResult } from '@axiom/runner';
import { z } from 'zod';
import { sampleTeacher, teacherTask } from './lib/data.js';
import { parameterCount } from './lib/mlp.js';
import { fitPowerLaw, fitPowerLawWithOffset } from './lib/power-law.js';
import { createStackedMlp, evaluateStackedLoss, trainStacked } from './lib/stacked.js';
import { finiteOrNull, stackedBenchWorkload, stackedSweep, stackingParam, repeat } from './lib/sweep.js';
import { permutationStream, uploadRegressionDataset } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  trainSizes: z
    .array(z.number().int().min(1))
    .min(3)
    .default([128, 256, 512, 1024, 2048, 4096, 8192, 16384])
    .describe('data sweep: training-set sizes, at width `dataSweepWidth`'),
  dataSweepWidth: z.number().int().min(1).default(128),
  widths: z
    .array(z.number().int().min(1))
    .min(3)
    .default([2, 4, 8, 16, 32, 64, 128, 256])
    .describe('parameter sweep: hidden widths, at `parameterSweepTrainSize` examples'),
  parameterSweepTrainSize: z.number().int().min(1).default(16384),
  depth: z.number().int().min(1).default(2).describe('hidden layers of the student, each `width` wide'),
  inputDim: z.number().int().min(1).default(8),
  teacherHidden: z.number().int().min(1).default(16).describe('hidden ReLU units of the random teacher; its output has unit variance'),
  labelNoise: z
    .number()
    .min(0)
    .default(0.5)
    .describe('std of Gaussian noise on training and validation targets; test targets are clean, so the test loss is the excess loss'),
  validationSize: z.number().int().min(1).default(1000).describe('held-out examples for early stopping'),
  testSize: z.number().int().min(1).default(4000),
  batchSize: z.number().int().min(1).default(64),
  learningRate: z.number().positive().default(0.001),
  maxSteps: z.number().int().min(1).default(10000).describe('training steps at most, whatever the data size'),
  stepsPerEvaluation: z.number().int().min(1).default(25).describe('training steps between validation checks'),
  patience: z.number().int().min(1).default(20).describe('validation checks without improvement before stopping'),
  stacking: stackingParam,
  padWidthsUpTo: z
    .number()
    .int()
    .min(0)
    .default(32)
    .describe(
      'with stacking, parameter-sweep widths up to this train in one stack, zero-padded to the widest of them (padded units stay exactly zero); 0: each width alone',
    ),
});
type Params = z.infer<typeof params>;

/** Narrow widths of the parameter sweep train in one stack, zero-padded to the widest of them; the data sweep's width and wider ones each in their own. */
const stackOf = (p: Pick<Params, 'padWidthsUpTo' | 'dataSweepWidth'>, width: number) =>
  width <= p.padWidthsUpTo && width !== p.dataSweepWidth ? `width≤${p.padWidthsUpTo}` : `width=${width}`;

/**
 * A unit's visits: only its own training set, the first `trainSize` rows of its group's (nested) set,
 * reshuffled every pass, `perRound` at a time.
 */
export function prefixVisits(rng: Rng, trainSize: number, perRound: number): () => Int32Array {
  return permutationStream(
    rng,
    Int32Array.from({ length: trainSize }, (_, i) => i),
    perRound,
  );
}

export default defineExperiment({
  name: 'micro-scaling-laws',
  version: '1.2.0',
  description: 'Teacher–student regression: does test loss follow a power law in data and in parameters?',
  params,
  presets: {
    smoke: {
      trainSizes: [64, 128, 256, 512, 1024],
      dataSweepWidth: 32,
      widths: [2, 8, 32],
      parameterSweepTrainSize: 1024,
      validationSize: 300,
      testSize: 500,
      learningRate: 0.003,
      maxSteps: 400,
      stepsPerEvaluation: 10,
      patience: 10,
    },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3:
  // exponents and R² within 3e-7. Set with ~1000× headroom for the real sweep's longer training.
  headline: [
    { metric: 'dataExponent', tolerance: { absolute: 1e-3, relative: 0 } },
    { metric: 'parameterExponent', tolerance: { absolute: 1e-3, relative: 0 } },
    { metric: 'dataScalingR2', tolerance: { absolute: 1e-3, relative: 0 } },
    { metric: 'parameterScalingR2', tolerance: { absolute: 1e-3, relative: 0 } },
  ],
  findings: {
    // The control for the data law: the parameter sweep of the same run, on the same task and training.
    controls: [
      {
        claim: 'a power law in training-set size fits the test loss (R²)',
        measure: 'dataScalingR2',
        control: 'parameterScalingR2',
        controlLabel: 'in parameters',
      },
      { claim: 'the data scaling exponent', measure: 'dataExponent', control: 'parameterExponent', controlLabel: 'the parameter exponent' },
    ],
    verdicts: { dataIsTheBottleneck: 'data, not capacity, is the bottleneck (the data law is cleaner and steeper)' },
    scalars: [
      { label: 'data scaling', fields: { dataExponent: 'exponent', dataScalingR2: 'R²' } },
      { label: 'parameter scaling', fields: { parameterExponent: 'exponent', parameterScalingR2: 'R²' } },
    ],
    scaling: {
      loss: 'testLoss',
      sweeps: [
        { sweep: 'data', label: 'training-set size', size: (unit) => unit.config.trainSize },
        { sweep: 'width', label: 'parameters', size: (unit) => unit.metrics.parameterCount },
      ],
    },
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) => {
      const network = (width: number) => ({
        layers: [p.inputDim, ...repeat(p.depth, width), 1],
        trainPasses: p.maxSteps * p.batchSize,
        evalPasses: Math.ceil(p.maxSteps / p.stepsPerEvaluation) * p.validationSize,
        steps: p.maxSteps,
        stack: stackOf(p, width),
      });
      return [...p.trainSizes.map(() => network(p.dataSweepWidth)), ...p.widths.map(network)];
    },
    flopsPerSecond: 2.8e10,
    secondsPerStep: 2.5e-4,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = [
      ...p.trainSizes.map((trainSize) => ({ key: `data/n=${trainSize}`, config: { sweep: 'data', trainSize, width: p.dataSweepWidth } })),
      ...p.widths.map((width) => ({ key: `width/w=${width}`, config: { sweep: 'width', trainSize: p.parameterSweepTrainSize, width } })),
    ];

    // Units of one width (the data sweep, and its width in the parameter sweep) train in one stack, and so
    // do the narrow widths, zero-padded: at those widths a step costs the same whatever the width.
    const { results, stackedGroups } = await stackedSweep(
      ctx,
      units,
      ({ width }) => stackOf(p, width),
      async (group, session) => {
        const width = Math.max(...group.map((unit) => unit.config.width));
        const memberHidden = group.map((unit) => Array<number>(p.depth).fill(unit.config.width));
        // Data: one teacher and one held-out set for every unit; smaller training sets are prefixes of
        // larger ones, so the group's largest holds every member's, each visiting only its own prefix.
        const teacher = teacherTask(ctx.rng('teacher'), { inputDim: p.inputDim, hidden: p.teacherHidden });
        const heldOutRng = ctx.rng('held-out');
        const validation = uploadRegressionDataset(tf, sampleTeacher(heldOutRng, teacher, p.validationSize, p.labelNoise));
        const test = uploadRegressionDataset(tf, sampleTeacher(heldOutRng, teacher, p.testSize));
        const largest = Math.max(...group.map((unit) => unit.config.trainSize));
        const train = uploadRegressionDataset(tf, sampleTeacher(ctx.rng('train'), teacher, largest, p.labelNoise));

        // Model: a ReLU MLP with one linear output per unit.
        const shape = { inputDim: p.inputDim, hidden: Array<number>(p.depth).fill(width), outputDim: 1 };
        const model = createStackedMlp(
          tf,
          group.map((unit) => unit.rng('init')),
          shape,
          memberHidden,
        );

        // Training in rounds of `stepsPerEvaluation` steps over reshuffled epochs, with early stopping
        // per unit; the test loss is the one at the best validation loss (records survive a restart).
        const members = session.record('members', () =>
          group.map(() => ({
            curves: { validationLoss: [] as Array<number | null>, testLoss: [] as Array<number | null> },
            best: { round: 0, validationLoss: Infinity, testLoss: Infinity },
          })),
        );
        try {
          await trainStacked({
            tf,
            model,
            train,
            members: group.map((unit) => ({
              learningRate: p.learningRate,
              shuffle: prefixVisits(unit.rng('order'), unit.config.trainSize, p.stepsPerEvaluation * p.batchSize),
            })),
            epochs: Math.ceil(p.maxSteps / p.stepsPerEvaluation),
            batchSize: p.batchSize,
            optimizer: 'adam',
            loss: 'mse',
            session,
            onEpoch: async (round, training) => {
              const validationLosses = await evaluateStackedLoss(tf, model, validation, 'mse');
              const testLosses = await evaluateStackedLoss(tf, model, test, 'mse');
              return members.map((member, m) => {
                if (!training[m]) return undefined;
                const [validationLoss, testLoss] = [validationLosses[m]!, testLosses[m]!];
                member.curves.validationLoss.push(finiteOrNull(validationLoss));
                member.curves.testLoss.push(finiteOrNull(testLoss));
                if (validationLoss < member.best.validationLoss) member.best = { round, validationLoss, testLoss };
                return round - member.best.round >= p.patience ? 'stop' : undefined;
              });
            },
          });
        } finally {
          [model, train, validation, test].forEach((disposable) => disposable.dispose());
        }

        // Metrics, per unit.
        return members.map(({ curves, best }, m) => ({
          metrics: {
            testLoss: finiteOrNull(best.testLoss), // infinite only if training diverged from the start
            validationLoss: finiteOrNull(best.validationLoss),
            bestStep: best.round * p.stepsPerEvaluation,
            stepsTrained: curves.testLoss.length * p.stepsPerEvaluation,
            parameterCount: parameterCount({ ...shape, hidden: memberHidden[m]! }),
          },
          curves,
        }));
      },
    );

    // Headline: power-law fits of test loss against training-set size and against parameter count.
    const points = (sweep: string, x: (unit: UnitResult) => number) =>
      results
        .filter((r) => r.config.sweep === sweep && typeof r.metrics.testLoss === 'number')
        .map((r): [number, number] => [x(r), r.metrics.testLoss as number]);
    const dataPoints = points('data', (r) => r.config.trainSize as number);
    const parameterPoints = points('width', (r) => r.metrics.parameterCount as number);
    const dataFit = fitPowerLaw(dataPoints);
    const parameterFit = fitPowerLaw(parameterPoints);
    return {
      stackedGroups,
      dataScaling: { fit: dataFit, fitWithOffset: fitPowerLawWithOffset(dataPoints) },
      parameterScaling: { fit: parameterFit, fitWithOffset: fitPowerLawWithOffset(parameterPoints) },
      dataScalingR2: dataFit?.r2 ?? null,
      dataExponent: dataFit ? -dataFit.alpha : null,
      parameterScalingR2: parameterFit?.r2 ?? null,
      parameterExponent: parameterFit ? -parameterFit.alpha : null,
      dataScalingFitsPowerLaw: dataFit !== null && dataFit.r2 > 0.9 && dataFit.alpha > 0,
      // At micro scale data, not capacity, is the bottleneck: the data law is cleaner and steeper.
      dataIsTheBottleneck: dataFit !== null && parameterFit !== null && dataFit.r2 > parameterFit.r2 && dataFit.alpha > parameterFit.alpha,
    };
  },
});
