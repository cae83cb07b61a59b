import type { NetworkWork, WorkEstimate } from './experiment.js';

/**
 * The work model an experiment declares (`WorkEstimate`), in seconds on one reference core: BOINC's estimates
 * and limits are made from it (the wrapper's cost model), and the pool hands out the longest groups first.
 */

/** The declared rates: model FLOPs per second, and seconds per step of a stack. */
export type WorkRates = Pick<WorkEstimate<unknown>, 'flopsPerSecond' | 'secondsPerStep'>;

/** Weights and biases of an MLP with these layer widths, inputs first. */
export const weightsOf = (layers: readonly number[]): number => layers.slice(1).reduce((sum, width, i) => sum + (layers[i]! + 1) * width, 0);

/** Model FLOPs of one network: 6·W per example it is trained on (forward 2·W, backward 4·W), 2·W per example evaluated. */
export const networkFlops = (network: NetworkWork): number => weightsOf(network.layers) * (6 * network.trainPasses + 2 * network.evalPasses);

/** The networks by the stack they train in (declared order); with stacking off, each network is a stack of its own. */
export function stacksOf(networks: readonly NetworkWork[], stacked: boolean): NetworkWork[][] {
  if (!stacked) return networks.map((network) => [network]);
  const stacks = new Map<string, NetworkWork[]>();
  for (const network of networks) {
    const stack = stacks.get(network.stack);
    if (stack) stack.push(network);
    else stacks.set(network.stack, [network]);
  }
  return [...stacks.values()];
}

/** Steps a stack takes: as many as its longest-training network (members step together). */
export const stackSteps = (stack: readonly NetworkWork[]): number => Math.max(...stack.map((network) => network.steps));

/** A stack's modelled seconds: its networks' FLOPs at the declared rate, plus its steps at the declared per-step cost. */
export const stackSeconds = (stack: readonly NetworkWork[], rates: WorkRates): number =>
  stack.reduce((sum, network) => sum + networkFlops(network), 0) / rates.flopsPerSecond + stackSteps(stack) * rates.secondsPerStep;

/**
 * The pool's hand-out order: the groups longest first by the declared work (longest processing time first),
 * so that a long stack does not start last while the other workers sit idle. The sweep's order stays when
 * the declaration does not name every group (no `work`, or stacking off, where groups are single units).
 */
export function longestFirst<G extends { key: string }, P>(groups: readonly G[], work: WorkEstimate<P> | undefined, params: P): G[] {
  if (!work) return [...groups];
  const seconds = new Map(stacksOf(work.networks(params), true).map((stack) => [stack[0]!.stack, stackSeconds(stack, work)]));
  if (!groups.every((group) => seconds.has(group.key))) return [...groups];
  return [...groups].sort((a, b) => seconds.get(b.key)! - seconds.get(a.key)!);
}
