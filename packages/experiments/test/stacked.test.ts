import { beforeAll, describe, expect, it } from 'vitest';
import { type Checkpoint, initBackend, memoryHost, runExperiment } from '@axiom/runner/host';
import { type Experiment, Rng, standaloneSession, type Tf } from '@axiom/runner';
import {
  builtinExperiments,
  clusterTask,
  corruptLabels,
  createMlp,
  createStackedMlp,
  evaluateLoss,
  evaluateStackedLoss,
  layerSizes,
  predictClasses,
  predictStackedClasses,
  sampleClusters,
  trainClassifier,
  trainStacked,
  uploadDataset,
  uploadStackedDataset,
  type Dataset,
  type StackedData,
  type VisitOrder,
} from '@axiom/experiments';

/**
 * Tolerance of a stacked member against the same network trained alone. Both compute the same
 * arithmetic, but the batched product, the unfused bias add and the per-member loss mean may round
 * float32 differently from the fused 2-D kernels (~1e-7 relative per op; ~1e-7 absolute on the weights
 * after the 32 steps here), and rounding differences grow over training. 1e-4 on every weight and
 * 1e-4 relative on the loss is far below anything a metric reports, and far above rounding; predictions
 * must be identical.
 */
const WEIGHT_TOLERANCE = 1e-4;
const LOSS_RELATIVE_TOLERANCE = 1e-4;

const shape = { inputDim: 6, hidden: [16, 16], outputDim: 3 };
const rows = 120;

describe('stacked training', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });

  /** Three members that differ in seed, data (labels), learning rate and kind of visit order; the third is narrower than the stack (zero-padded). */
  const memberSetups = () => {
    const task = clusterTask(new Rng(1), { inputDim: shape.inputDim, classes: shape.outputDim, clustersPerClass: 1, separation: 1.5 });
    const clean = sampleClusters(new Rng(2), task, rows);
    const data: Dataset[] = [clean, corruptLabels(new Rng(3), clean, 0.3).data, sampleClusters(new Rng(4), task, rows)];
    const curriculum = (epoch: number) => Int32Array.from({ length: rows }, (_, i) => (i * 7 + epoch) % rows);
    return [
      { seed: 10, learningRate: 0.05, data: data[0]!, order: (): VisitOrder => new Rng(20), hidden: shape.hidden },
      { seed: 11, learningRate: 0.1, data: data[1]!, order: (): VisitOrder => new Rng(21), hidden: shape.hidden },
      { seed: 12, learningRate: 0.02, data: data[2]!, order: (): VisitOrder => curriculum, hidden: [5, 9] },
    ];
  };

  for (const optimizer of ['sgd', 'adam'] as const) {
    it(`trains each member as it would alone (${optimizer}, own seed, data, learning rate, order and width), with early stopping, and leaks no tensors`, async () => {
      const before = tf.memory().numTensors;
      const setups = memberSetups();
      const common = { tf, epochs: 4, batchSize: 16, optimizer, session: standaloneSession() };
      const stopAfter = [4, 2, 4]; // the second member stops early: its weights must freeze there

      const alone = [];
      for (const [m, setup] of setups.entries()) {
        const model = createMlp(tf, new Rng(setup.seed), { ...shape, hidden: setup.hidden });
        const train = uploadDataset(tf, setup.data);
        await trainClassifier({
          ...common,
          model,
          train,
          learningRate: setup.learningRate,
          shuffle: setup.order(),
          onEpoch: (epoch) => (epoch === stopAfter[m] ? 'stop' : undefined),
        });
        alone.push({
          weights: model.weights.map((weight) => weight.dataSync().slice()),
          loss: await evaluateLoss(tf, model, train, 'cross-entropy'),
          predicted: await predictClasses(tf, model, train.x),
        });
        model.dispose();
        train.dispose();
      }

      const model = createStackedMlp(
        tf,
        setups.map((setup) => new Rng(setup.seed)),
        shape,
        setups.map((setup) => setup.hidden),
      );
      const train = uploadStackedDataset(
        tf,
        setups.map((setup) => setup.data),
      );
      const epochsSeen: boolean[][] = [];
      await trainStacked({
        ...common,
        model,
        train,
        members: setups.map((setup) => ({ learningRate: setup.learningRate, shuffle: setup.order() })),
        onEpoch: (epoch, training) => {
          epochsSeen.push([...training]);
          return stopAfter.map((last) => (epoch === last ? 'stop' : undefined));
        },
      });
      expect(epochsSeen).toEqual([
        [true, true, true],
        [true, true, true],
        [true, false, true],
        [true, false, true],
      ]);
      const losses = await evaluateStackedLoss(tf, model, train, 'cross-entropy');
      const predicted = await predictStackedClasses(tf, model, train.x);
      const stackedWeights = model.weights.map((weight) => weight.dataSync());
      // Biases of padded units (the narrow member's beyond its widths) stay exactly zero too.
      const narrow = setups.findIndex((setup) => setup.hidden !== shape.hidden);
      setups[narrow]!.hidden.forEach((width, layer) => {
        const biases = model.variables[2 * layer + 1]!.dataSync().subarray(narrow * shape.hidden[layer]!, (narrow + 1) * shape.hidden[layer]!);
        expect(Array.from(biases.subarray(width)).every((value) => value === 0)).toBe(true);
      });
      alone.forEach((solo, m) => {
        const ownSizes = layerSizes({ ...shape, hidden: setups[m]!.hidden });
        layerSizes(shape).forEach(([fanIn, fanOut], layer) => {
          // The member's block of the stack: its own weights top-left, padding (exactly zero) elsewhere.
          const member = stackedWeights[layer]!.subarray(m * fanIn * fanOut, (m + 1) * fanIn * fanOut);
          const [ownFanIn, ownFanOut] = ownSizes[layer]!;
          const own = solo.weights[layer]!;
          let maxDifference = 0;
          const padding: number[] = [];
          member.forEach((value, i) => {
            const [row, column] = [Math.floor(i / fanOut), i % fanOut];
            if (row < ownFanIn && column < ownFanOut) maxDifference = Math.max(maxDifference, Math.abs(value - own[row * ownFanOut + column]!));
            else padding.push(value);
          });
          expect(maxDifference).toBeLessThan(WEIGHT_TOLERANCE);
          expect(padding.every((value) => value === 0)).toBe(true);
        });
        expect(Math.abs(losses[m]! - solo.loss) / solo.loss).toBeLessThan(LOSS_RELATIVE_TOLERANCE);
        expect(Array.from(predicted[m]!)).toEqual(Array.from(solo.predicted));
      });
      model.dispose();
      train.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('starts every member from the weights createMlp draws from its stream', () => {
    const model = createStackedMlp(tf, [new Rng(5), new Rng(6)], shape);
    const solo = createMlp(tf, new Rng(6), shape);
    solo.weights.forEach((weight, layer) => {
      const values = weight.dataSync();
      expect(Array.from(model.weights[layer]!.dataSync().subarray(values.length))).toEqual(Array.from(values));
    });
    model.dispose();
    solo.dispose();
  });

  it('evaluates shared inputs against every member (broadcast) like per-member copies of them', async () => {
    const data = sampleClusters(new Rng(7), clusterTask(new Rng(8), { inputDim: shape.inputDim, classes: 3, clustersPerClass: 1, separation: 1 }), 50);
    const model = createStackedMlp(tf, [new Rng(1), new Rng(2)], shape);
    const shared = uploadDataset(tf, data);
    const copies = uploadStackedDataset(tf, [data, data]);
    const sharedData: StackedData = { x: shared.x, targets: shared.targets };
    expect(await evaluateStackedLoss(tf, model, sharedData, 'cross-entropy')).toEqual(await evaluateStackedLoss(tf, model, copies, 'cross-entropy'));
    expect(await predictStackedClasses(tf, model, shared.x, 16)).toEqual(await predictStackedClasses(tf, model, copies.x));
    [model, shared, copies].forEach((disposable) => disposable.dispose());
  });
});

describe('a stacked sweep', () => {
  it('resumed from a checkpoint after its first group gives the same digest as an uninterrupted run', async () => {
    const experiment = builtinExperiments.get('representation-alignment') as Experiment;
    const request = (host: ReturnType<typeof memoryHost>) =>
      runExperiment({
        experiment,
        preset: 'smoke',
        // Two pairs per width, so each group stacks four networks.
        paramLayers: [{ origin: 'test', values: { pairs: 2, trainSize: 200, testSize: 100, epochs: 3 } }],
        seed: { value: 5, source: 'cli', warnings: [] },
        backend: { forced: 'wasm' },
        host,
      });
    const full = (await request(memoryHost())).result;
    expect(full.metrics.stackedGroups).toEqual([
      ['width=32/pair=0', 'width=32/pair=1'],
      ['width=256/pair=0', 'width=256/pair=1'],
    ]);

    const stored: { checkpoint?: Checkpoint } = {};
    const first = memoryHost(stored);
    first.progress = (update) => update.unitsDone === 2 && update.detail === undefined && first.abort.abort(); // the first group is done
    expect((await request(first)).result.status).toBe('partial');
    expect(stored.checkpoint?.units.map((unit) => unit.key)).toEqual(['width=32/pair=0', 'width=32/pair=1']);

    const resumedHost = memoryHost(stored);
    const started: string[] = [];
    resumedHost.progress = (update) => update.unit && !started.includes(update.unit) && started.push(update.unit);
    const resumed = (await request(resumedHost)).result;
    expect(started).toEqual(['stack width=256 · 2 runs']); // only the unfinished group ran
    expect(resumed.status).toBe('ok');
    expect(resumed.digest).toBe(full.digest);
  });
});
