import { builtinExperiments } from '@axiom/experiments';
import { AxiomError, resolveParams } from '@axiom/runner/host';
import { type JsonObject } from '@axiom/runner';
import { z } from 'zod';

/**
 * What a workunit costs, in BOINC's terms (the workunit's rsc_* fields). The client derives its runtime
 * estimate (rsc_fpops_est / the app version's flops), its deadline planning and its kill limits
 * (rsc_fpops_bound, rsc_memory_bound, rsc_disk_bound) from these.
 */
export const workunitCostSchema = z.strictObject({
  fpopsEstimate: z.number().positive(),
  fpopsBound: z.number().positive(),
  memoryBoundBytes: z.number().int().positive(),
  diskBoundBytes: z.number().int().positive(),
});
export type WorkunitCost = z.infer<typeof workunitCostSchema>;

/**
 * The model. Training an MLP with W weights on one example costs about 6·W floating-point operations
 * (forward 2·W, backward 4·W), evaluating it 2·W; an experiment is a set of such networks trained and
 * evaluated for a known number of example passes. Tensor libraries on small networks run far below a CPU's
 * benchmark rate, so each experiment has a measured rate (model FLOPs per second, CALIBRATION below),
 * plus a fixed start-up time (Node, tfjs and its WASM backend). The estimate is those seconds at the
 * reference host's BOINC benchmark (REFERENCE_FPOPS): the client divides by its own host's rate.
 */
export const REFERENCE_FPOPS = 4e9;
/** `axiom run` with nothing to train: loading Node, tfjs and the WASM backend, writing the result. */
const STARTUP_SECONDS = 2;
/** The client kills a task at rsc_fpops_bound; a slow or busy host must not reach it. */
const BOUND_FACTOR = 20;
/**
 * The client aborts a task whose working set passes rsc_memory_bound. The worker's peak resident memory
 * on the smoke presets was measured at 150 MB (Node, tfjs, the WASM heap); twice that is the floor.
 */
const BASE_MEMORY_BYTES = 300 * 2 ** 20;
/** Per weight: the weights, their gradients, optimizer state and the WASM heap's slack, as 4-byte floats. */
const BYTES_PER_WEIGHT = 64;
/** The result cap (the output template's max_nbytes) plus the slot's checkpoints and logs. */
const BASE_DISK_BYTES = 100 * 2 ** 20;

interface Network {
  /** Layer widths, input first. */
  layers: number[];
  /** Examples the network is trained on, counting each epoch. */
  trainPasses: number;
  /** Examples it is evaluated on, counting each evaluation. */
  evalPasses: number;
}

const weightsOf = (layers: number[]) => layers.slice(1).reduce((sum, width, i) => sum + (layers[i]! + 1) * width, 0);
const hiddenLayers = (depth: number, width: number) => Array<number>(depth).fill(width);
const times = <T>(count: number, make: () => T) => Array.from({ length: count }, make);

type Params = Record<string, unknown> & JsonObject;
const num = (params: Params, name: string) => params[name] as number;
const list = (params: Params, name: string) => params[name] as number[];

/** Each built-in experiment's networks, from its parameters (the experiment sources say what each parameter does). */
const NETWORKS: Record<string, (p: Params) => Network[]> = {
  'memorization-dynamics': (p) =>
    times(list(p, 'corruptionLevels').length * num(p, 'replicates'), () => ({
      layers: [num(p, 'inputDim'), ...list(p, 'hidden'), num(p, 'classes')],
      trainPasses: num(p, 'trainSize') * num(p, 'epochs'),
      // Train and test accuracy are tracked every epoch.
      evalPasses: (num(p, 'trainSize') + num(p, 'testSize')) * num(p, 'epochs'),
    })),
  'feature-competition': (p) =>
    list(p, 'widths').flatMap((width) =>
      times(num(p, 'replicates'), () => ({
        layers: [2 * num(p, 'featureDims') + num(p, 'noiseDims'), ...hiddenLayers(num(p, 'depth'), width), 2],
        trainPasses: num(p, 'trainSize') * num(p, 'epochs'),
        evalPasses: num(p, 'testSize') * num(p, 'epochs'),
      })),
    ),
  'curriculum-learning': (p) =>
    list(p, 'widths').flatMap((width) =>
      times((p.orderings as string[]).length * list(p, 'learningRates').length, () => ({
        layers: [num(p, 'inputDim'), ...hiddenLayers(num(p, 'depth'), width), num(p, 'classes')],
        trainPasses: num(p, 'trainSize') * num(p, 'epochs'),
        evalPasses: num(p, 'testSize') * num(p, 'epochs'),
      })),
    ),
  'representation-alignment': (p) =>
    list(p, 'widths').flatMap((width) =>
      times(2 * num(p, 'pairs'), () => ({
        layers: [num(p, 'inputDim'), ...hiddenLayers(num(p, 'depth'), width), num(p, 'classes')],
        trainPasses: num(p, 'trainSize') * num(p, 'epochs'),
        evalPasses: num(p, 'testSize') * num(p, 'epochs'),
      })),
    ),
  'micro-scaling-laws': (p) => {
    // Early stopping may end a unit sooner: maxSteps is the budget, so this is an upper estimate.
    const network = (width: number): Network => ({
      layers: [num(p, 'inputDim'), ...hiddenLayers(num(p, 'depth'), width), 1],
      trainPasses: num(p, 'maxSteps') * num(p, 'batchSize'),
      evalPasses: Math.ceil(num(p, 'maxSteps') / num(p, 'stepsPerEvaluation')) * num(p, 'validationSize'),
    });
    return [...list(p, 'trainSizes').map(() => network(num(p, 'dataSweepWidth'))), ...list(p, 'widths').map(network)];
  },
};

/**
 * Model FLOPs per second each experiment reached, measured with `axiom run NAME --preset smoke --backend
 * wasm --threads 1` on a 2-core x86-64 machine while it also compiled C++ (so on the slow side): rate = model FLOPs of
 * the smoke preset / (measured seconds - STARTUP_SECONDS). Re-measure when an experiment's training changes.
 */
const CALIBRATION: Record<string, number> = {
  // model FLOPs of the smoke preset / (measured s - start-up s)
  'memorization-dynamics': 9.3e7, // 7.0e8 / (9.5 - 2)
  'feature-competition': 1.3e8, // 8.5e8 / (8.7 - 2)
  'curriculum-learning': 4.7e8, // 1.4e9 / (5.1 - 2)
  'representation-alignment': 5.3e8, // 4.4e9 / (10.2 - 2)
  'micro-scaling-laws': 1.0e8, // 1.5e9 / (16.4 - 2)
};

/** The networks one run of a built-in experiment trains, with these parameters. */
function networks(experimentName: string, preset: string | undefined, overrides: JsonObject | undefined): Network[] {
  const experiment = builtinExperiments.get(experimentName);
  const networksOf = NETWORKS[experimentName];
  if (!experiment || !networksOf) throw new AxiomError('unknownExperiment', `no cost model for experiment "${experimentName}"`);
  const { params } = resolveParams(experiment.params, experiment.presets, preset, overrides ? [{ origin: '--params', values: overrides }] : []);
  return networksOf(params as Params);
}

/** Model FLOPs of one run of a built-in experiment with these parameters. */
export function modelFlops(experimentName: string, preset: string | undefined, overrides: JsonObject | undefined): number {
  return networks(experimentName, preset, overrides).reduce((sum, net) => sum + weightsOf(net.layers) * (6 * net.trainPasses + 2 * net.evalPasses), 0);
}

/** A declared cost (a fetched script's author says it: seconds on a reference core and peak memory) in BOINC's terms. */
export function costFromSeconds(seconds: number, memoryBytes: number): WorkunitCost {
  const fpopsEstimate = Math.ceil(seconds * REFERENCE_FPOPS);
  return workunitCostSchema.parse({
    fpopsEstimate,
    fpopsBound: fpopsEstimate * BOUND_FACTOR,
    memoryBoundBytes: Math.ceil(memoryBytes),
    diskBoundBytes: BASE_DISK_BYTES,
  });
}

/** The cost of one workunit of a built-in experiment: the model's FLOPs at the experiment's measured rate, plus start-up. */
export function estimateCost(experimentName: string, preset: string | undefined, overrides: JsonObject | undefined): WorkunitCost {
  const seconds = STARTUP_SECONDS + modelFlops(experimentName, preset, overrides) / CALIBRATION[experimentName]!;
  // A run trains its networks side by side (stacked), so all their weights are resident at once.
  const weights = networks(experimentName, preset, overrides).reduce((sum, net) => sum + weightsOf(net.layers), 0);
  return costFromSeconds(seconds, BASE_MEMORY_BYTES + BYTES_PER_WEIGHT * weights);
}
