import { describe, expect, it } from 'vitest';
import type { NetworkWork, WorkEstimate } from '../src/experiment.js';
import { poolSize, WORKER_MEMORY_BUDGET_BYTES } from '../src/pool.js';
import { groupUnits, inParts, keepingGroupsInTraining } from '../src/groups.js';
import { LARGEST_GROUP_SHARE, longestFirst, SHORTEST_PART_SECONDS, stackParts, stackSeconds } from '../src/work.js';

describe('poolSize', () => {
  const plenty = 64 * WORKER_MEMORY_BUDGET_BYTES;

  it('takes the workers the host asked for when memory and groups allow', () => {
    expect(poolSize(2, 5, plenty)).toEqual({ workers: 2 });
  });

  it('takes fewer when free memory holds fewer at the budget each, and says why', () => {
    expect(poolSize(4, 10, 2.5 * WORKER_MEMORY_BUDGET_BYTES)).toEqual({ workers: 2, why: '4 requested, but 750 MiB of free memory at 300 MiB a worker' });
    // Never none: a host short of memory still runs the sweep, in one process.
    expect(poolSize(4, 10, 0).workers).toBe(1);
  });

  it('takes no more than there are groups to train', () => {
    expect(poolSize(3, 2, plenty)).toEqual({ workers: 2, why: '3 requested, but 2 group(s) to train' });
  });
});

describe('longestFirst', () => {
  const network = (stack: string, width: number, steps: number): NetworkWork => ({ layers: [10, width, 2], trainPasses: 1000, evalPasses: 0, steps, stack });
  // Declared in the sweep's order: a small stack, a wide one, and one that takes many steps.
  const networks = [network('small', 8, 10), network('wide', 512, 10), network('wide', 512, 10), network('long', 8, 10_000)];
  const work: WorkEstimate<null> = { networks: () => networks, flopsPerSecond: 1e9, secondsPerStep: 1e-3 };
  const groups = ['small', 'wide', 'long'].map((key) => ({ key }));

  it('orders groups by the declared seconds of their stack, FLOPs and steps both counted', () => {
    expect(stackSeconds([networks[3]!], work)).toBeGreaterThan(stackSeconds(networks.slice(1, 3), work));
    expect(longestFirst(groups, stackParts(work, null)).map((group) => group.key)).toEqual(['long', 'wide', 'small']);
  });

  it('keeps the sweep order without a declaration; hands out groups the plan does not name first, in the sweep order', () => {
    expect(longestFirst(groups, undefined)).toEqual(groups);
    // Stacking off: every group is a unit.
    const units = ['small/replicate=0', 'wide/replicate=0', 'wide/replicate=1', 'long/replicate=0'].map((key) => ({ key }));
    expect(longestFirst(units, stackParts(work, null))).toEqual(units);
    const mixed = [{ key: 'small (as checkpointed)' }, ...groups, { key: 'wide/replicate=1' }];
    expect(longestFirst(mixed, stackParts(work, null)).map((group) => group.key)).toEqual([
      'small (as checkpointed)',
      'wide/replicate=1',
      'long',
      'wide',
      'small',
    ]);
  });
});

describe('stackParts and inParts', () => {
  const network = (stack: string, width: number): NetworkWork => ({ layers: [10, width, 2], trainPasses: 1e6, evalPasses: 0, steps: 100, stack });
  // Two small stacks of two networks, and a large one of four: the large one holds most of the work.
  const networks = [network('a', 8), network('a', 8), network('b', 8), network('b', 8), ...Array.from({ length: 4 }, () => network('large', 64))];
  const work: WorkEstimate<null> = { networks: () => networks, flopsPerSecond: 1e9, secondsPerStep: 1e-3 };
  const sweepSeconds = stackSeconds(networks, { ...work, secondsPerStep: 0 }) + 3 * 100 * work.secondsPerStep;

  it("splits a stack of more than the share into the fewest parts that bring each under it, counting each part's steps", () => {
    const plan = stackParts(work, null);
    expect([...plan].map(([stack, parts]) => [stack, parts.length])).toEqual([
      ['a', 1],
      ['b', 1],
      ['large', 2],
    ]);
    const [first, second] = plan.get('large')!;
    // Two networks each, each part paying the stack's 100 steps.
    expect([first, second]).toEqual([stackSeconds(networks.slice(4, 6), work), stackSeconds(networks.slice(4, 6), work)]);
    expect(first! / (sweepSeconds + 100 * work.secondsPerStep)).toBeLessThanOrEqual(LARGEST_GROUP_SHARE);
    // A smaller share takes more parts, never more than the stack's networks, nor parts shorter than the shortest.
    expect(stackParts(work, null, 1 / 4, 0).get('large')).toHaveLength(4);
    expect(stackParts(work, null, 1 / 8, 0).get('large')).toHaveLength(4);
    expect(stackParts(work, null, 1 / 4)).toEqual(plan);
    expect(stackParts(work, null, 1).get('large')).toHaveLength(1);
  });

  it('never splits a stack into parts shorter than the shortest part: a worker’s start-up would eat the gain', () => {
    const [part] = stackParts(work, null).get('large')!;
    expect(part).toBeGreaterThanOrEqual(SHORTEST_PART_SECONDS);
    expect(stackParts(work, null, LARGEST_GROUP_SHARE, part! + 1).get('large')).toHaveLength(1);
  });

  it('never splits stacks the declaration keeps whole', () => {
    expect([...stackParts({ ...work, keepStacksWhole: true }, null).values()].map((parts) => parts.length)).toEqual([1, 1, 1]);
  });

  it('deals units into interleaved parts with readable keys, which longestFirst orders by their own seconds', () => {
    const units = networks.map(({ stack }, index) => ({ key: `${stack}/${index}`, config: {} }));
    const groups = inParts(
      groupUnits(units, (unit) => unit.key.split('/')[0]!),
      stackParts(work, null),
    );
    expect(groups.map(({ key, group }) => [key, group.map((unit) => unit.key)])).toEqual([
      ['a', ['a/0', 'a/1']],
      ['b', ['b/2', 'b/3']],
      ['large (part 1 of 2)', ['large/4', 'large/6']],
      ['large (part 2 of 2)', ['large/5', 'large/7']],
    ]);
    expect(longestFirst(groups, stackParts(work, null)).map(({ key }) => key)).toEqual(['large (part 1 of 2)', 'large (part 2 of 2)', 'a', 'b']);
  });

  it("keeps a checkpoint's group in training that the plan does not have, and plans the rest of its stack; refuses what no plan makes", () => {
    const units = networks.map(({ stack }, index) => ({ key: `${stack}/${index}`, config: {} }));
    const whole = groupUnits(units, (unit) => unit.key.split('/')[0]!);
    const plan = stackParts(work, null);
    const independent = { membersIndependent: true };
    const keys = (groups: typeof whole) => groups.map(({ key, group }) => [key, group.map((unit) => unit.key)]);
    // A planned group in training changes nothing.
    expect(keepingGroupsInTraining(whole, plan, [['large/4', 'large/6']], independent)).toEqual({ groups: inParts(whole, plan), kept: [] });
    // Three of the large stack in training, as an earlier plan grouped them: the fourth trains alone.
    const { groups, kept } = keepingGroupsInTraining(whole, plan, [['large/4', 'large/5', 'large/6']], independent);
    expect(keys(groups)).toEqual([
      ['a', ['a/0', 'a/1']],
      ['b', ['b/2', 'b/3']],
      ['large (as checkpointed)', ['large/4', 'large/5', 'large/6']],
      ['large', ['large/7']],
    ]);
    expect(keys(kept)).toEqual([['large (as checkpointed)', ['large/4', 'large/5', 'large/6']]]);
    // The plan does not name them, so they are handed out first; the planned groups still longest first.
    expect(longestFirst(groups, plan).map(({ key }) => key)).toEqual(['large (as checkpointed)', 'large', 'a', 'b']);
    // Two groups of a stack kept apart are numbered.
    const two = keepingGroupsInTraining(whole, plan, [['large/4'], ['large/5', 'large/6']], independent);
    expect(two.kept.map(({ key }) => key)).toEqual(['large (as checkpointed, 1 of 2)', 'large (as checkpointed, 2 of 2)']);
    const refusals: Array<[string[][], RegExp]> = [
      [[['a/0', 'b/2']], /of different stacks/],
      [[['large/4', 'gone/9']], /has no such unit/],
      [[['a/1', 'a/0', 'a/1']], /in training twice/],
      // Overlapping a planned group in training.
      [
        [
          ['large/4', 'large/6'],
          ['large/6', 'large/7'],
        ],
        /\(large\/6, large\/7\) is not a group of this sweep: a unit in it is in training twice/,
      ],
    ];
    for (const [inTraining, why] of refusals) expect(() => keepingGroupsInTraining(whole, plan, inTraining, independent)).toThrowError(why);
    // Where a stack's members depend on one another, part of a stack is never resumed alone.
    expect(() => keepingGroupsInTraining(whole, plan, [['large/4', 'large/5', 'large/6']], { membersIndependent: false })).toThrowError(/keeps stacks whole/);
  });
});
