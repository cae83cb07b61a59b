import { builtinExperiments } from '@axiom/experiments';
import { AxiomError, networkFlops, resolveParams, stackSeconds, stacksAsTrained, stackSteps, weightsOf } from '@axiom/runner/host';
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
 * evaluated for a known number of example passes and steps, which it declares (`work`). Tensor libraries
 * run small networks far below a CPU's benchmark rate, and a step costs tfjs's dispatch of a few dozen ops
 * whatever the size, so each experiment also declares two measured rates on one WASM thread: model FLOPs
 * per second, and seconds per step of a stack (members of a stack step together). Its seconds are those plus
 * a fixed start-up (Node, tfjs and its WASM backend). The estimate is those seconds at the reference host's
 * BOINC benchmark (REFERENCE_FPOPS): the client divides by its own host's rate.
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

interface DeclaredWork {
  networks: NetworkWork[];
  /** The stacks as the run trains them: split in parts where the runner splits them, or each network alone with `stacking` off. */
  stacks: NetworkWork[][];
  flopsPerSecond: number;
  secondsPerStep: number;
}

/** The networks one run of a built-in experiment trains, with these parameters. */
function declaredWork(experimentName: string, preset: string | undefined, overrides: JsonObject | undefined): DeclaredWork {
  const experiment = builtinExperiments.get(experimentName);
  if (!experiment?.work) throw new AxiomError('unknownExperiment', `no work estimate for experiment "${experimentName}"`);
  const { params } = resolveParams(experiment.params, experiment.presets, preset, overrides ? [{ origin: '--params', values: overrides }] : []);
  const { work } = experiment;
  return {
    networks: work.networks(params),
    stacks: stacksAsTrained(work, params),
    flopsPerSecond: work.flopsPerSecond,
    secondsPerStep: work.secondsPerStep,
  };
}

/** What the model counts for one run of a built-in experiment with these parameters. */
export function modelledWork(experimentName: string, preset: string | undefined, overrides: JsonObject | undefined): { flops: number; steps: number } {
  const work = declaredWork(experimentName, preset, overrides);
  return {
    flops: work.networks.reduce((sum, network) => sum + networkFlops(network), 0),
    steps: work.stacks.reduce((sum, stack) => sum + stackSteps(stack), 0),
  };
}

/** Model FLOPs of one run of a built-in experiment with these parameters. */
export function modelFlops(experimentName: string, preset: string | undefined, overrides: JsonObject | undefined): number {
  return modelledWork(experimentName, preset, overrides).flops;
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

/** The cost of one workunit of a built-in experiment: its FLOPs and steps at the experiment's measured rates, plus start-up. */
export function estimateCost(experimentName: string, preset: string | undefined, overrides: JsonObject | undefined): WorkunitCost {
  const work = declaredWork(experimentName, preset, overrides);
  // Stacks (and their parts) train one after another on the reference core.
  const seconds = STARTUP_SECONDS + work.stacks.reduce((sum, stack) => sum + stackSeconds(stack, work), 0);
  // A run trains its networks side by side (stacked), so all their weights are resident at once.
  const weights = work.networks.reduce((sum, net) => sum + weightsOf(net.layers), 0);
  return costFromSeconds(seconds, BASE_MEMORY_BYTES + BYTES_PER_WEIGHT * weights);
}
