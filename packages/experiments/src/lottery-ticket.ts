/**
 * Lottery tickets (Frankle & Carbin 2019, "The lottery ticket hypothesis: finding sparse, trainable neural
 * networks"; Frankle et al. 2020 on rewinding). Iterative magnitude pruning: train the dense network, remove
 * the smallest-magnitude 20% of each layer's remaining weights (the output layer's at half that rate),
 * rewind the survivors to their original initialisation, train again, and repeat. Each round we train, at
 * the same mask sparsity, three subnetworks: the winning ticket (the pruned mask, original initialisation),
 * the same mask with re-randomised weights, and a random mask with as many weights per layer (original
 * initialisation); the dense network is the reference. Masked weights stay exactly zero during training.
 * Known result: tickets at 10–20% of the weights match the dense network's test accuracy; the re-initialised
 * and the randomly masked subnetworks, the controls, do worse.
 */
import { defineExperiment, type Rng } from '@axiom/runner';
import { mean } from 'simple-statistics';
import { z } from 'zod';
import { clusterTask, sampleClusters } from './lib/data.js';
import { layerSizes } from './lib/mlp.js';
import { sessionPart } from './lib/session.js';
import { createStackedMlp, predictStackedClasses, trainStacked, uploadStackedDataset } from './lib/stacked.js';
import { epochSteps, repeat, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { accuracy } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  replicates: z.number().int().min(1).default(3).describe('independent data sets and initialisations, each pruned on its own'),
  rounds: z.number().int().min(1).default(10).describe('pruning rounds after the dense network: 0.8^10 ≈ 11% of the hidden weights are left'),
  pruneRate: z.number().gt(0).lt(1).default(0.2).describe("fraction of each layer's remaining weights removed per round"),
  outputPruneRate: z.number().gt(0).lt(1).default(0.1).describe("the same for the output layer (half the rate, as Frankle & Carbin's)"),
  trainSize: z.number().int().min(10).default(2000),
  testSize: z.number().int().min(10).default(2000),
  inputDim: z.number().int().min(2).default(20),
  classes: z.number().int().min(2).default(10),
  clustersPerClass: z.number().int().min(1).default(2),
  separation: z.number().positive().default(0.8).describe('spread of cluster centres relative to unit point noise'),
  hidden: z.array(z.number().int().min(1)).min(1).default([100, 100]),
  epochs: z.number().int().min(1).default(20).describe('epochs training each network, every round'),
  batchSize: z.number().int().min(1).default(64),
  learningRate: z.number().positive().default(0.003).describe('Adam'),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** Cross-backend tolerance of the pruned subnetworks' test accuracies (see the headline). */
const SUBNETWORK_ACCURACY = { absolute: 2 * FEW_PREDICTIONS_FLIP.absolute, relative: 0 };

/** The three subnetworks trained each round, in stack order within a replicate. */
const ARMS = ['ticket', 'reinit', 'randomMask'] as const;

/**
 * One magnitude-pruning step of a layer: of the weights `mask` keeps, the `rate` fraction (rounded) with the
 * smallest |weight| are removed (ties: lower index first). Returns the new mask.
 */
export function magnitudePrune(weights: Float32Array, mask: Uint8Array, rate: number): Uint8Array {
  const kept = Array.from(mask.keys()).filter((i) => mask[i] === 1);
  kept.sort((a, b) => Math.abs(weights[a]!) - Math.abs(weights[b]!) || a - b);
  const pruned = Uint8Array.from(mask);
  for (const i of kept.slice(0, Math.round(rate * kept.length))) pruned[i] = 0;
  return pruned;
}

/** A mask of the same size keeping as many weights as `mask`, at uniformly random positions. */
export function randomMaskLike(rng: Rng, mask: Uint8Array): Uint8Array {
  const count = mask.reduce((sum, bit) => sum + bit, 0);
  const random = new Uint8Array(mask.length);
  for (const i of rng.permutation(mask.length).subarray(0, count)) random[i] = 1;
  return random;
}

/** The fraction of all weights (not biases) the layers' masks keep. */
export function fractionKept(masks: readonly Uint8Array[]): number {
  const kept = masks.reduce((sum, mask) => sum + mask.reduce((count, bit) => count + bit, 0), 0);
  return kept / masks.reduce((sum, mask) => sum + mask.length, 0);
}

/** What one replicate keeps across rounds (and restarts): its current masks and each round's test accuracies. */
// A type, not an interface: records must be assignable to Snapshot's index signature.
type ReplicateRecord = {
  /** Per layer, the mask the next round's ticket trains with. */
  masks: Uint8Array[];
  denseAccuracy: number[];
  weightsKept: number[];
  ticket: number[];
  reinit: number[];
  randomMask: number[];
};

export default defineExperiment({
  name: 'lottery-ticket',
  version: '1.0.0',
  description: 'Iterative magnitude pruning with rewinding: do sparse winning tickets match the dense network, and beat re-initialised and random subnetworks?',
  params,
  presets: {
    smoke: { replicates: 1, rounds: 3, pruneRate: 0.5, outputPruneRate: 0.25, trainSize: 500, testSize: 500, hidden: [32, 32], epochs: 10 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3: every
  // unit metric identical (accuracies, fractions kept), verdicts identical. The subnetworks' accuracies get twice
  // the shared few-predictions tolerance: in the real sweep a weight that rounds differently can move a pruning
  // threshold by one weight, and ten rounds of pruning carry such a change on.
  headline: [
    { metric: 'sparsest.ticketAccuracy', tolerance: SUBNETWORK_ACCURACY },
    { metric: 'sparsest.reinitAccuracy', tolerance: SUBNETWORK_ACCURACY },
    { metric: 'sparsest.randomMaskAccuracy', tolerance: SUBNETWORK_ACCURACY },
    { metric: 'sparsest.denseAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'ticketBeatsControlsAtSparsest', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'the sparsest winning ticket beats the same mask with re-randomised weights',
        measure: 'sparsest.ticketAccuracy',
        control: 'sparsest.reinitAccuracy',
        controlLabel: 'same mask, re-randomised weights',
      },
      {
        claim: 'the sparsest winning ticket beats a random mask of the same sparsity',
        measure: 'sparsest.ticketAccuracy',
        control: 'sparsest.randomMaskAccuracy',
        controlLabel: 'random mask, same sparsity per layer',
      },
      {
        claim: "the sparsest winning ticket matches the dense network's test accuracy",
        measure: 'sparsest.ticketAccuracy',
        control: 'sparsest.denseAccuracy',
        controlLabel: 'the dense network',
      },
    ],
    keyed: {
      table: 'byWeightsKept',
      keyLabel: 'weights kept',
      fields: { ticket: 'winning ticket', reinit: 'same mask, re-initialised', randomMask: 'random mask', dense: 'dense network' },
      axis: 'log',
      title: 'Test accuracy vs fraction of weights kept: winning tickets and their controls',
    },
    scalars: [{ label: 'at the sparsest round', fields: { 'sparsest.weightsKept': 'weights kept', 'sparsest.ticketAccuracy': 'ticket test accuracy' } }],
  },
  bench: stackedBenchWorkload,
  work: {
    networks: (p) =>
      // Round 0 trains the dense networks, each later round the three arms: a stack per round, one after another.
      Array.from({ length: p.rounds + 1 }, (_, round) =>
        repeat(p.replicates * (round === 0 ? 1 : ARMS.length), {
          layers: [p.inputDim, ...p.hidden, p.classes],
          trainPasses: p.trainSize * p.epochs,
          evalPasses: p.testSize,
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: `round=${round}`,
        }),
      ).flat(),
    // Fitted to the smoke preset and the default sweep on one WASM thread: `npm run bench -- --work-rates`.
    flopsPerSecond: 2.8e10,
    secondsPerStep: 3.2e-3,
    // The declared stacks (rounds) are not the sweep's groups: the runner must not plan parts of them.
    keepStacksWhole: true,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = Array.from({ length: p.replicates }, (_, replicate) => ({ key: `replicate=${replicate}`, config: { replicate } }));
    const shape = { inputDim: p.inputDim, hidden: p.hidden, outputDim: p.classes };
    const sizes = layerSizes(shape);
    const layerRate = (layer: number) => (layer === sizes.length - 1 ? p.outputPruneRate : p.pruneRate);

    // Every replicate's networks have one shape: each round trains all of them (three arms each) as one stack.
    const { results, stackedGroups } = await stackedSweep(
      ctx,
      units,
      () => `hidden=${p.hidden.join('x')}`,
      async (group, session) => {
        // Data: each replicate its own task and data set.
        const data = group.map((unit) => {
          const dataRng = unit.rng('data');
          const task = clusterTask(dataRng, p);
          return { train: sampleClusters(dataRng, task, p.trainSize), test: sampleClusters(dataRng, task, p.testSize) };
        });
        // Masks and accuracies so far: a restart skips the rounds already trained and continues from these.
        const records = session.record('replicates', () =>
          group.map((): ReplicateRecord => ({
            masks: sizes.map(([fanIn, fanOut]) => new Uint8Array(fanIn * fanOut).fill(1)),
            denseAccuracy: [],
            weightsKept: [],
            ticket: [],
            reinit: [],
            randomMask: [],
          })),
        );

        // Round 0 trains each replicate's dense network; every later round its three subnetworks.
        for (let round = 0; round <= p.rounds; round++) {
          const arms = round === 0 ? (['ticket'] as const) : ARMS;
          const members = group.flatMap((unit, r) => arms.map((arm) => ({ unit, r, arm })));
          // Streams for this round, made whether or not a restart skips it, so every stream is where it was.
          // Rewinding: the ticket and the random mask start from the replicate's original initialisation.
          const initRngs = members.map(({ unit, arm }) => (arm === 'reinit' ? unit.rng('reinit') : unit.rng('init')));
          const shuffles = members.map(({ unit, arm }) => unit.rng('round', round, arm, 'shuffle'));
          const randomMaskRngs = group.map((unit) => unit.rng('round', round, 'random-mask'));
          const done = records[0]!.weightsKept.length > round;
          // Masks: the ticket's and the re-initialised network's are the replicate's pruned mask.
          const memberMasks = members.map(({ r, arm }) =>
            records[r]!.masks.map((mask) => (arm === 'randomMask' && !done ? randomMaskLike(randomMaskRngs[r]!, mask) : mask)),
          );
          const weightMasks = sizes.map(([fanIn, fanOut], layer) => {
            const values = new Float32Array(members.length * fanIn * fanOut);
            memberMasks.forEach((masks, m) => values.set(masks[layer]!, m * fanIn * fanOut));
            return tf.tensor3d(values, [members.length, fanIn, fanOut]);
          });
          const model = createStackedMlp(tf, initRngs, shape);
          const train = uploadStackedDataset(
            tf,
            members.map(({ r }) => data[r]!.train),
          );
          const test = uploadStackedDataset(
            tf,
            members.map(({ r }) => data[r]!.test),
          );
          try {
            // Training (a round already done before a restart returns at once).
            await trainStacked({
              tf,
              model,
              train,
              members: shuffles.map((shuffle) => ({ learningRate: p.learningRate, shuffle })),
              epochs: p.epochs,
              batchSize: p.batchSize,
              optimizer: 'adam',
              weightMasks,
              session: sessionPart(session, round / (p.rounds + 1), (round + 1) / (p.rounds + 1)),
            });
            if (done) continue;

            // Metrics: each member's test accuracy; then the ticket's trained weights give the next round's mask.
            const predictions = await predictStackedClasses(tf, model, test.x);
            const weights = await Promise.all(model.weights.map(async (weight) => (await weight.data()) as Float32Array));
            members.forEach(({ r, arm }, m) => {
              const record = records[r]!;
              const testAccuracy = accuracy(predictions[m]!, data[r]!.test.y);
              if (round === 0) record.denseAccuracy.push(testAccuracy);
              else record[arm].push(testAccuracy);
              if (arm !== 'ticket') return;
              record.weightsKept.push(fractionKept(record.masks));
              if (round === p.rounds) return;
              record.masks = record.masks.map((mask, layer) => {
                const [fanIn, fanOut] = sizes[layer]!;
                return magnitudePrune(weights[layer]!.subarray(m * fanIn * fanOut, (m + 1) * fanIn * fanOut), mask, layerRate(layer));
              });
            });
          } finally {
            [model, train, test, ...weightMasks].forEach((disposable) => disposable.dispose());
          }
        }

        return records.map((record) => {
          const { ticket, reinit, randomMask, weightsKept } = record;
          // weightsKept[0] is the dense network (1); rounds 1..R are the pruned ones.
          const pruned = weightsKept.slice(1);
          return {
            metrics: {
              denseAccuracy: record.denseAccuracy[0]!,
              weightsKept: pruned,
              ticketAccuracy: ticket,
              reinitAccuracy: reinit,
              randomMaskAccuracy: randomMask,
            },
            curves: { weightsKept: pruned, ticketTestAccuracy: ticket, reinitTestAccuracy: reinit, randomMaskTestAccuracy: randomMask },
          };
        });
      },
    );

    // Headline: per round (keyed by the fraction of weights kept, the same for every replicate), means over replicates.
    const perRound = (field: string, round: number) => mean(results.map((result) => (result.metrics[field] as number[])[round]!));
    const dense = mean(results.map((result) => result.metrics.denseAccuracy as number));
    const rounds = Array.from({ length: p.rounds }, (_, round) => ({
      weightsKept: perRound('weightsKept', round),
      ticket: perRound('ticketAccuracy', round),
      reinit: perRound('reinitAccuracy', round),
      randomMask: perRound('randomMaskAccuracy', round),
      dense,
    }));
    const sparsest = rounds.at(-1)!;
    return {
      byWeightsKept: Object.fromEntries(rounds.map((row) => [row.weightsKept.toPrecision(3), row])),
      stackedGroups,
      sparsest: {
        weightsKept: sparsest.weightsKept,
        ticketAccuracy: sparsest.ticket,
        reinitAccuracy: sparsest.reinit,
        randomMaskAccuracy: sparsest.randomMask,
        denseAccuracy: dense,
      },
      ticketBeatsControlsAtSparsest: sparsest.ticket > sparsest.reinit && sparsest.ticket > sparsest.randomMask,
    };
  },
});
