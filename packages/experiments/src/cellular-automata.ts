/**
 * Learning cellular automata (Wolfram's elementary rules and classes; Springer & Kenyon 2021, "It's hard
 * for neural networks to learn the Game of Life"). An elementary rule maps each cell and its two
 * neighbours to the cell's next state; k steps of it map the 2k+1 cells around a cell to that cell's
 * state k steps later. An MLP reads every one of the 2^(2k+1) windows and is trained to give the cell
 * after k steps, for rules of increasing Wolfram class (4: class 2; 90 and 30: class 3; 110: class 4).
 * A network has learned the rule when it gets every window right. Known result: one step is learned
 * exactly for every rule; learning k steps succeeds less often as k and the rule's complexity grow, and
 * more often as the network is wider (over-parameterised). We record, per rule, k and width, the
 * fraction of replicates that learn exactly within a fixed budget of steps. Controls: k = 1 (every rule
 * learned) against k > 1, and the widest networks against the narrowest.
 */
import { defineExperiment, type JsonObject, type UnitResult } from '@axiom/runner';
import { mean } from 'simple-statistics';
import { z } from 'zod';
import type { Dataset } from './lib/data.js';
import { createStackedMlp, predictStackedClasses, trainStacked, uploadStackedDataset } from './lib/stacked.js';
import { gridUnits, meanOfNumbers, repeat, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { SAME_VERDICT } from './lib/tolerances.js';
import { accuracy, permutationStream } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  rules: z
    .array(z.number().int().min(0).max(255))
    .min(2)
    .default([4, 90, 30, 110])
    .describe("Wolfram codes of elementary rules, simplest first: the first is the control for the last's complexity"),
  stepsAhead: z.array(z.number().int().min(1)).min(2).default([1, 2, 3, 4]).describe('k: the network reads 2k+1 cells and gives the centre k steps later'),
  widths: z.array(z.number().int().min(1)).min(2).default([8, 16, 64]).describe('hidden widths, narrowest first'),
  replicates: z.number().int().min(1).default(8).describe('initialisations per rule, k and width'),
  depth: z.number().int().min(1).default(1).describe('hidden ReLU layers, each `width` wide'),
  batchSize: z.number().int().min(1).default(32),
  learningRate: z.number().positive().default(0.01),
  maxSteps: z.number().int().min(1).default(1500).describe('training steps at most: the budget within which a network must learn the rule'),
  stepsPerCheck: z.number().int().min(1).default(50).describe('training steps between checks of every window; a network that gets them all right stops'),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** Networks of one k and width have one shape, so they train in one stack. */
const stackOf = ({ k, width }: { k: number; width: number }) => `k=${k}/width=${width}`;

// Data.

/** The next state of each inner cell of a row under an elementary rule: bit 4l + 2c + r of the Wolfram code. */
export function applyRule(rule: number, cells: readonly number[]): number[] {
  return cells.slice(1, -1).map((centre, i) => (rule >> (4 * cells[i]! + 2 * centre + cells[i + 2]!)) & 1);
}

/**
 * Every window of 2k+1 cells (window i holds the bits of i, most significant leftmost, as ±1 inputs)
 * labelled with its centre cell after k steps of the rule: the whole truth table the network must learn.
 */
export function kStepTable(rule: number, k: number): Dataset {
  const cellsPerWindow = 2 * k + 1;
  const size = 2 ** cellsPerWindow;
  const x = new Float32Array(size * cellsPerWindow);
  const y = new Int32Array(size);
  for (let window = 0; window < size; window++) {
    let cells = Array.from({ length: cellsPerWindow }, (_, j) => (window >> (cellsPerWindow - 1 - j)) & 1);
    cells.forEach((cell, j) => (x[window * cellsPerWindow + j] = 2 * cell - 1));
    for (let step = 0; step < k; step++) cells = applyRule(rule, cells);
    y[window] = cells[0]!;
  }
  return { x, y, size, inputDim: cellsPerWindow, classes: 2 };
}

// Metrics.

/** The fraction of units that learned the rule exactly, of those matching `where`. */
function fractionLearned(results: readonly UnitResult[], where: (config: UnitResult['config']) => boolean): number | null {
  return meanOfNumbers(results.filter((result) => where(result.config)).map((result) => (result.metrics.learned ? 1 : 0)));
}

export default defineExperiment({
  name: 'cellular-automata',
  version: '1.0.0',
  description: 'Elementary cellular automata: can an MLP learn k steps of a rule exactly, and how does that depend on k, the rule and the width?',
  params,
  presets: {
    smoke: { rules: [4, 30], stepsAhead: [1, 4], widths: [8, 64], replicates: 2 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3:
  // every unit's steps to learn and every fraction identical. Over the real sweep a network that learns near
  // the end of its budget may do so on one backend only: one replicate of 8 per cell, two networks of 96 per k.
  headline: [
    { metric: 'fractionLearned.*.*.*', tolerance: { absolute: 0.125, relative: 0 } },
    { metric: 'byK.*.fractionLearned', tolerance: { absolute: 0.021, relative: 0 } },
    { metric: 'everyRuleLearnedOneStep', tolerance: SAME_VERDICT },
    { metric: 'harderBeyondOneStep', tolerance: SAME_VERDICT },
    { metric: 'widerLearnsMore', tolerance: SAME_VERDICT },
    { metric: 'complexRuleHarder', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'k > 1 steps of a rule are learned exactly less often than one step',
        measure: 'beyondOneStep.fractionLearned',
        control: 'oneStep.fractionLearned',
        controlLabel: 'k = 1',
      },
      {
        claim: 'the narrowest networks learn k > 1 steps exactly less often than the widest',
        measure: 'beyondOneStep.narrowest',
        control: 'beyondOneStep.widest',
        controlLabel: 'widest networks',
      },
      {
        claim: 'the most complex rule (last) is learned exactly less often than the simplest (first), k > 1',
        measure: 'beyondOneStep.mostComplexRule',
        control: 'beyondOneStep.simplestRule',
        controlLabel: 'simplest rule',
      },
    ],
    keyed: {
      table: 'byK',
      keyLabel: 'k (steps ahead)',
      fields: {
        fractionLearned: 'fraction learned',
        narrowest: 'narrowest width',
        widest: 'widest width',
        simplestRule: 'simplest rule',
        mostComplexRule: 'most complex rule',
      },
      axis: 'linear',
      title: 'Fraction of networks that learn k steps of a rule exactly',
    },
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) =>
      p.stepsAhead.flatMap((k) =>
        p.widths.flatMap((width) =>
          repeat(p.rules.length * p.replicates, {
            layers: [2 * k + 1, ...repeat(p.depth, width), 2],
            trainPasses: p.maxSteps * p.batchSize,
            evalPasses: Math.ceil(p.maxSteps / p.stepsPerCheck) * 2 ** (2 * k + 1),
            steps: p.maxSteps,
            stack: stackOf({ k, width }),
          }),
        ),
      ),
    flopsPerSecond: 2.8e10,
    secondsPerStep: 5.2e-4,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const replicates = Array.from({ length: p.replicates }, (_, replicate) => replicate);
    const units = gridUnits({ k: p.stepsAhead, width: p.widths, rule: p.rules, replicate: replicates });

    // Networks of one k and width have one shape: every rule and replicate of it trains in one stack.
    const { results, stackedGroups } = await stackedSweep(ctx, units, stackOf, async (group, session) => {
      const { k, width } = group[0]!.config;
      // Data: the whole truth table of k steps of each member's rule.
      const train = uploadStackedDataset(
        tf,
        group.map(({ config: { rule } }) => kStepTable(rule, k)),
      );
      const windows = Int32Array.from({ length: train.sources[0]!.size }, (_, i) => i);

      // Model: an MLP with ReLU hidden layers and two logits (the cell's state), one per unit.
      const model = createStackedMlp(
        tf,
        group.map((unit) => unit.rng('init')),
        { inputDim: 2 * k + 1, hidden: repeat(p.depth, width), outputDim: 2 },
      );

      // Training: minibatches over reshuffled passes through the windows, whatever their number, for at
      // most maxSteps steps; every stepsPerCheck steps every window is checked, and a network that gets
      // them all right has learned the rule and stops (records survive a restart).
      const members = session.record('members', () => group.map(() => ({ windowAccuracy: [] as number[], stepsToLearn: null as number | null })));
      try {
        await trainStacked({
          tf,
          model,
          train,
          members: group.map((unit) => ({
            learningRate: p.learningRate,
            shuffle: permutationStream(unit.rng('order'), windows, p.stepsPerCheck * p.batchSize),
          })),
          epochs: Math.ceil(p.maxSteps / p.stepsPerCheck),
          batchSize: p.batchSize,
          optimizer: 'adam',
          session,
          onEpoch: async (check, training) => {
            const predictions = await predictStackedClasses(tf, model, train.x);
            return members.map((member, m) => {
              if (!training[m]) return undefined;
              const windowAccuracy = accuracy(predictions[m]!, train.sources[m]!.y);
              member.windowAccuracy.push(windowAccuracy);
              if (windowAccuracy < 1) return undefined;
              member.stepsToLearn = check * p.stepsPerCheck;
              return 'stop';
            });
          },
        });
      } finally {
        [model, train].forEach((disposable) => disposable.dispose());
      }

      // Metrics, per unit.
      return members.map(({ windowAccuracy, stepsToLearn }) => ({
        metrics: { learned: stepsToLearn !== null, stepsToLearn, finalWindowAccuracy: windowAccuracy.at(-1)! },
        curves: { windowAccuracy },
      }));
    });

    // Headline: the fraction of replicates that learned, per rule, k and width; then summaries by k,
    // and over k > 1 against k = 1.
    const fractionLearnedTable: JsonObject = {};
    for (const rule of p.rules) {
      const byK: JsonObject = {};
      for (const k of p.stepsAhead) {
        byK[String(k)] = Object.fromEntries(
          p.widths.map((width) => [String(width), fractionLearned(results, (c) => c.rule === rule && c.k === k && c.width === width)]),
        );
      }
      fractionLearnedTable[String(rule)] = byK;
    }
    const [narrowest, widest] = [p.widths[0], p.widths.at(-1)];
    const [simplestRule, mostComplexRule] = [p.rules[0], p.rules.at(-1)];
    const summary = (atK: (k: number) => boolean) => ({
      fractionLearned: fractionLearned(results, (c) => atK(c.k as number)),
      narrowest: fractionLearned(results, (c) => atK(c.k as number) && c.width === narrowest),
      widest: fractionLearned(results, (c) => atK(c.k as number) && c.width === widest),
      simplestRule: fractionLearned(results, (c) => atK(c.k as number) && c.rule === simplestRule),
      mostComplexRule: fractionLearned(results, (c) => atK(c.k as number) && c.rule === mostComplexRule),
    });
    const oneStep = summary((k) => k === 1);
    const beyondOneStep = summary((k) => k > 1);
    const learnedSteps = results.map((r) => r.metrics.stepsToLearn).filter((steps): steps is number => typeof steps === 'number');
    return {
      fractionLearned: fractionLearnedTable,
      byK: Object.fromEntries(p.stepsAhead.map((k) => [String(k), summary((atK) => atK === k)])),
      oneStep,
      beyondOneStep,
      meanStepsToLearn: learnedSteps.length ? mean(learnedSteps) : null,
      stackedGroups,
      everyRuleLearnedOneStep: p.rules.every((rule) => fractionLearned(results, (c) => c.rule === rule && c.k === 1 && c.width === widest) === 1),
      harderBeyondOneStep: (beyondOneStep.fractionLearned ?? 1) < (oneStep.fractionLearned ?? 0),
      widerLearnsMore: (beyondOneStep.widest ?? 0) > (beyondOneStep.narrowest ?? 1),
      complexRuleHarder: (beyondOneStep.mostComplexRule ?? 1) < (beyondOneStep.simplestRule ?? 0),
    };
  },
});
