import { builtinExperiments } from '@axiom/experiments';
import { AxiomError, resolveParams } from '@axiom/runner/host';
import { type JsonObject, type NetworkWork } from '@axiom/runner';
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
 * evaluated for a known number of example passes, which it declares (`work`). Tensor libraries on small
 * networks run far below a CPU's benchmark rate, so each experiment also declares its measured rate
 * (model FLOPs per second on one WASM thread, smoke preset, less STARTUP_SECONDS),
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

const weightsOf = (layers: number[]) => layers.slice(1).reduce((sum, width, i) => sum + (layers[i]! + 1) * width, 0);

/** The networks one run of a built-in experiment trains, with these parameters. */
function declaredWork(
  experimentName: string,
  preset: string | undefined,
  overrides: JsonObject | undefined,
): { networks: NetworkWork[]; flopsPerSecond: number } {
  const experiment = builtinExperiments.get(experimentName);
  if (!experiment?.work) throw new AxiomError('unknownExperiment', `no work estimate for experiment "${experimentName}"`);
  const { params } = resolveParams(experiment.params, experiment.presets, preset, overrides ? [{ origin: '--params', values: overrides }] : []);
  return { networks: experiment.work.networks(params), flopsPerSecond: experiment.work.flopsPerSecond };
}

const flopsOf = (networks: NetworkWork[]) => networks.reduce((sum, net) => sum + weightsOf(net.layers) * (6 * net.trainPasses + 2 * net.evalPasses), 0);

/** Model FLOPs of one run of a built-in experiment with these parameters. */
export function modelFlops(experimentName: string, preset: string | undefined, overrides: JsonObject | undefined): number {
  return flopsOf(declaredWork(experimentName, preset, overrides).networks);
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
  const { networks, flopsPerSecond } = declaredWork(experimentName, preset, overrides);
  const seconds = STARTUP_SECONDS + flopsOf(networks) / flopsPerSecond;
  // A run trains its networks side by side (stacked), so all their weights are resident at once.
  const weights = networks.reduce((sum, net) => sum + weightsOf(net.layers), 0);
  return costFromSeconds(seconds, BASE_MEMORY_BYTES + BYTES_PER_WEIGHT * weights);
}
