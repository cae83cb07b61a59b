import type { ExperimentContext, SweepUnit, TrainingSession, UnitContext, UnitOutput } from './experiment.js';
import type { JsonObject } from './json.js';
import { AxiomError } from './errors.js';
import { describeZodError } from './params.js';
import { deriveSeed } from './rng.js';
import { unitResultSchema, type UnitResult } from './schemas.js';
import type { GroupSession } from './session.js';

/**
 * What running one sweep group takes, the same in the run's own process and in a pool worker: a group's
 * results depend only on its units' keys, configurations and the root seed, wherever it runs.
 */

/** How often a busy training loop lets the event loop run, so signals and control messages get through. */
export const YIELD_INTERVAL_MS = 50;

export type RunGroup<C extends JsonObject> = (group: Array<UnitContext<C>>, session: TrainingSession) => Promise<UnitOutput[]>;

/** One group of a sweep: `key` is what `groupOf` gave its units. */
export interface SweepGroup<C extends JsonObject = JsonObject> {
  key: string;
  group: Array<SweepUnit<C>>;
}

/** The sweep's units grouped by `groupOf`, in order of each group's first unit. */
export function groupUnits<C extends JsonObject>(units: Array<SweepUnit<C>>, groupOf: (unit: SweepUnit<C>) => string): Array<SweepGroup<C>> {
  const groups = new Map<string, Array<SweepUnit<C>>>();
  for (const unit of units) {
    const key = groupOf(unit);
    const group = groups.get(key);
    if (group) group.push(unit);
    else groups.set(key, [unit]);
  }
  return [...groups].map(([key, group]) => ({ key, group }));
}

/** Items dealt into `parts` interleaved parts: item i goes to part i mod `parts`. */
export const interleave = <T>(items: readonly T[], parts: number): T[][] =>
  Array.from({ length: parts }, (_, part) => items.filter((_, index) => index % parts === part));

/** The key of a group's part (`part` from 0), e.g. `hidden=256x256 (part 1 of 2)`. */
export const partKey = (key: string, part: number, parts: number): string => `${key} (part ${part + 1} of ${parts})`;

/** The parts a plan (declared seconds of each part, by group key) splits a group into: never more than its units. */
export const partsOf = (plan: ReadonlyMap<string, readonly number[]> | undefined, { key, group }: SweepGroup): number =>
  Math.min(plan?.get(key)?.length ?? 1, group.length);

/** The groups with those the plan splits dealt into interleaved parts, each keyed by `partKey`; the others as they are. */
export function inParts<C extends JsonObject>(groups: Array<SweepGroup<C>>, plan: ReadonlyMap<string, readonly number[]> | undefined): Array<SweepGroup<C>> {
  return groups.flatMap((sweepGroup) => {
    const parts = partsOf(plan, sweepGroup);
    if (parts === 1) return [sweepGroup];
    return interleave(sweepGroup.group, parts).map((group, part) => ({ key: partKey(sweepGroup.key, part, parts), group }));
  });
}

/** A group's identity in a checkpoint: its unit keys, in order. */
export const groupId = (keys: readonly string[]): string => JSON.stringify(keys);

/**
 * The groups a run trains: the plan's (`inParts`), except that each group a checkpoint caught in training and
 * the plan does not have is kept as it was (`kept`, keyed `<stack> (as checkpointed)`), and the rest of its
 * stack trains as planned. The plan can change under a checkpoint: a newer runner splits differently, or the
 * declared rates are refitted. Keeping the group keeps its training: a member's results do not depend on which
 * members of its stack train beside it, unless the stack's members depend on one another (`keepStacksWhole`,
 * where no plan splits a stack, so such a group is refused). So is a group across stacks, or overlapping another.
 */
export function keepingGroupsInTraining<C extends JsonObject>(
  whole: Array<SweepGroup<C>>,
  plan: ReadonlyMap<string, readonly number[]> | undefined,
  inTraining: ReadonlyArray<readonly string[]>,
  { membersIndependent }: { membersIndependent: boolean },
): { groups: Array<SweepGroup<C>>; kept: Array<SweepGroup<C>> } {
  const planned = new Set(inParts(whole, plan).map(({ group }) => groupId(group.map((unit) => unit.key))));
  // Each unit of the sweep, by key, with its stack.
  const placed = new Map(whole.flatMap((stack) => stack.group.map((unit) => [unit.key, { stack, unit }] as const)));
  const notOfThisSweep = (keys: readonly string[], why: string) =>
    new AxiomError('badCheckpoint', `checkpoint's group in training (${keys.join(', ')}) is not a group of this sweep: ${why}`);
  const claimed = new Set<string>();
  for (const keys of inTraining) {
    if (keys.some((key) => claimed.has(key)) || new Set(keys).size !== keys.length) throw notOfThisSweep(keys, 'a unit in it is in training twice');
    for (const key of keys) claimed.add(key);
  }
  const keptByStack = new Map<SweepGroup<C>, Array<Array<SweepUnit<C>>>>();
  const keptUnits = new Set<string>();
  for (const keys of inTraining) {
    if (planned.has(groupId(keys))) continue;
    const stacks = new Set(keys.map((key) => placed.get(key)?.stack));
    const stack = stacks.size === 1 ? [...stacks][0] : undefined;
    if (!stack) throw notOfThisSweep(keys, stacks.has(undefined) ? 'the sweep has no such unit' : 'its units are of different stacks');
    if (!membersIndependent) throw notOfThisSweep(keys, 'the declaration keeps stacks whole, and this is part of one');
    for (const key of keys) keptUnits.add(key);
    keptByStack.set(stack, [...(keptByStack.get(stack) ?? []), keys.map((key) => placed.get(key)!.unit)]);
  }
  const kept: Array<SweepGroup<C>> = [];
  const groups = whole.flatMap((sweepGroup) => {
    const keptHere = (keptByStack.get(sweepGroup) ?? []).map((group, index, all) => ({
      key: `${sweepGroup.key} (as checkpointed${all.length > 1 ? `, ${index + 1} of ${all.length}` : ''})`,
      group,
    }));
    kept.push(...keptHere);
    const rest = sweepGroup.group.filter((unit) => !keptUnits.has(unit.key));
    return [...keptHere, ...inParts(rest.length > 0 ? [{ key: sweepGroup.key, group: rest }] : [], plan)];
  });
  return { groups, kept };
}

export const groupLabel = ({ key, group }: SweepGroup): string => (group.length === 1 ? group[0]!.key : `stack ${key} · ${group.length} runs`);

/** Runs one group with its session: each unit with its own derived seed; the outputs checked as result JSON. */
export async function runSweepGroup<C extends JsonObject>(
  rootSeed: number,
  sweepGroup: SweepGroup<C>,
  session: GroupSession,
  runGroup: RunGroup<C>,
): Promise<UnitResult[]> {
  const contexts = sweepGroup.group.map((unit): UnitContext<C> => {
    const seed = deriveSeed(rootSeed, 'unit', unit.key);
    return { ...unit, seed, rng: (...labels) => session.stream(seed, labels) };
  });
  const outputs = await runGroup(contexts, session);
  if (outputs.length !== contexts.length) {
    throw new Error(`sweep group "${groupLabel(sweepGroup)}" returned ${outputs.length} outputs for ${contexts.length} units`);
  }
  return contexts.map(({ key, seed, config }, index) => {
    const checked = unitResultSchema.safeParse({ key, seed, config, ...outputs[index] });
    if (!checked.success) {
      throw new Error(`unit "${key}" produced output that is not valid result JSON: ${describeZodError(checked.error, unitResultSchema)}`);
    }
    return checked.data;
  });
}

/** `ctx.sweep` on top of `ctx.sweepGroups`: every unit a group of its own. */
export function sweepUnitByUnit(sweepGroups: ExperimentContext<unknown>['sweepGroups']): ExperimentContext<unknown>['sweep'] {
  return (units, runUnit) =>
    sweepGroups(
      units,
      (unit) => unit.key,
      async ([unit], session) => [await runUnit(unit!, session)],
    );
}

/** Experiments must draw every random number from seeded streams; this makes any other use fail loudly. */
export async function withUnseededRandomnessForbidden<T>(body: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = () => {
    throw new Error(
      'unseeded randomness: Math.random() was called during an experiment (use ctx.rng(), or pass a seed to tfjs random ops; tfjs treats seed 0 as no seed)',
    );
  };
  try {
    return await body();
  } finally {
    Math.random = original;
  }
}
