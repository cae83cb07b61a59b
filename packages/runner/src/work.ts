import type { NetworkWork, WorkEstimate } from './experiment.js';
import { interleave, partKey } from './groups.js';

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
 * The largest share of a sweep's declared seconds one group may hold before it is split (`stackParts`). A half
 * lets two workers share any sweep; a smaller share would balance more workers, but every part pays the stack's
 * per-step overhead again (memorization-dynamics' one stack: 40% of its declared seconds are steps), so it would
 * cost one and two workers more than it gains: four parts of that stack take longer on two workers than the
 * stack whole, two parts nearly a third less.
 */
export const LARGEST_GROUP_SHARE = 1 / 2;

/**
 * The shortest part, in declared seconds, a stack is split into: every part pays its stack's per-step overhead
 * again. random-label-memorization's stack in two parts of about 4 s each gained nothing on two workers and cost
 * 12–16% on one (2026-12-03, when a pool worker took seconds to start; about 1 s since). Smoke presets stay whole.
 */
export const SHORTEST_PART_SECONDS = 10;

/**
 * How each declared stack trains, as the declared seconds of each of its parts (one: whole). A stack of more
 * than `share` of the sweep's seconds is dealt into k interleaved parts (`interleave`), k the smallest that
 * leaves each part at most `share` of the sweep's seconds, and at least one network in each part. Both sides count
 * each part's per-step overhead, which a split adds: against the unsplit sweep, a stack whose steps alone
 * exceed the share would be cut into single networks. No part is shorter than `shortestPart` declared seconds,
 * and none is split when the declaration keeps stacks whole. The plan depends on the parameters and the
 * declaration only, never on the worker count or the host, so a checkpoint's groups are the same on any number
 * of workers (the run splits with `inParts`, and hands each pool worker a group by its unit keys).
 */
export function stackParts<P>(work: WorkEstimate<P>, params: P, share = LARGEST_GROUP_SHARE, shortestPart = SHORTEST_PART_SECONDS): Map<string, number[]> {
  const stacks = stacksOf(work.networks(params), true);
  const wholeSeconds = stacks.map((stack) => stackSeconds(stack, work));
  const sweepSeconds = wholeSeconds.reduce((sum, seconds) => sum + seconds, 0);
  return new Map(
    stacks.map((stack, index) => {
      const othersSeconds = sweepSeconds - wholeSeconds[index]!;
      const tooLarge = (parts: number[]) => Math.max(...parts) > share * (othersSeconds + parts.reduce((sum, seconds) => sum + seconds, 0));
      let parts = [wholeSeconds[index]!];
      for (let count = 2; !work.keepStacksWhole && count <= stack.length && tooLarge(parts); count++) {
        const split = interleave(stack, count).map((part) => stackSeconds(part, work));
        if (Math.min(...split) < shortestPart) break;
        parts = split;
      }
      return [stack[0]!.stack, parts];
    }),
  );
}

/**
 * The stacks as a run of these parameters trains them: each split into the interleaved parts `stackParts`
 * plans, or, with stacking off (the experiments' `stacking` parameter), each network alone. BOINC's cost model
 * counts these, since every part pays its steps' overhead; the run counts them to know whether a pool will train.
 */
export function stacksAsTrained<P>(work: WorkEstimate<P>, params: P): NetworkWork[][] {
  const stacked = (params as { stacking?: string }).stacking !== 'off';
  const stacks = stacksOf(work.networks(params), stacked);
  if (!stacked) return stacks;
  const plan = stackParts(work, params);
  return stacks.flatMap((stack) => interleave(stack, plan.get(stack[0]!.stack)!.length));
}

/**
 * The pool's hand-out order: the groups longest first by the declared work of the run's plan (`stackParts`;
 * longest processing time first), so that a long stack does not start last while the other workers sit idle; a
 * stack's parts by their own seconds. Groups the plan does not name come first, in the sweep's order: a group a
 * checkpoint caught in training and the rest of its stack (`keepingGroupsInTraining`), or, with stacking off,
 * every group (single units). Without a plan (no `work`) the sweep's order stays.
 */
export function longestFirst<G extends { key: string }>(groups: readonly G[], plan: ReadonlyMap<string, readonly number[]> | undefined): G[] {
  if (!plan) return [...groups];
  const seconds = new Map(
    [...plan].flatMap(([stack, parts]) =>
      parts.length === 1 ? [[stack, parts[0]!] as const] : parts.map((part, index) => [partKey(stack, index, parts.length), part] as const),
    ),
  );
  const known = groups.filter((group) => seconds.has(group.key));
  return [...groups.filter((group) => !seconds.has(group.key)), ...known.sort((a, b) => seconds.get(b.key)! - seconds.get(a.key)!)];
}
