import { describeGroup, type ConfigurationGroup, type ResultRecord } from './result-set.js';

/**
 * Checks that replicates are what they claim to be. Once, 100 "replicates" were one computation:
 * workunits without a seed fell back to the same seed. These are the traces such a mistake leaves.
 */
export type ReplicationProblemKind = 'shared-seed' | 'identical-digest' | 'fallback-seed';

export interface ReplicationProblem {
  kind: ReplicationProblemKind;
  message: string;
  files: string[];
}

/** Map.groupBy, which Node 20 lacks. */
function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

const filesOf = (records: readonly ResultRecord[]) => records.map((record) => record.file);

/** Different results (workunits) of one configuration that ran with the same seed. */
function sharedSeeds(group: ConfigurationGroup): ReplicationProblem[] {
  return [...groupBy(group.records, (record) => record.result.seed.value)]
    .filter(([, records]) => records.length > 1)
    .map(([seed, records]) => {
      const identical = new Set(records.map((record) => record.result.digest)).size === 1;
      const consequence = identical
        ? `identical digests: one computation counted ${records.length} times`
        : 'their digests differ: the computation did not reproduce across these runs';
      return {
        kind: 'shared-seed',
        message: `${describeGroup(group)}: seed ${seed} is shared by ${records.length} results with different resultIds (${consequence}); counted as one seed`,
        files: filesOf(records),
      };
    });
}

/** The same science from different seeds: the seed never reached the computation. */
function identicalDigests(records: readonly ResultRecord[]): ReplicationProblem[] {
  return [...groupBy(records, (record) => record.result.digest)]
    .map(([digest, sameDigest]) => ({ digest, sameDigest, seeds: [...new Set(sameDigest.map((record) => record.result.seed.value))] }))
    .filter(({ seeds }) => seeds.length > 1)
    .map(({ digest, sameDigest, seeds }) => ({
      kind: 'identical-digest',
      message: `digest ${digest.slice(0, 12)}… comes from ${seeds.length} different seeds (${seeds.join(', ')}): the seed did not determine the computation`,
      files: filesOf(sameDigest),
    }));
}

/** Seeds the worker drew itself because the workunit carried none (or an unusable one). */
function fallbackSeeds(group: ConfigurationGroup): ReplicationProblem[] {
  const fallbacks = group.records.filter(({ result }) => result.seed.source === 'crypto-fallback' || result.seed.fallbackReason !== undefined);
  if (fallbacks.length === 0) return [];
  const reasons = [...new Set(fallbacks.map(({ result }) => result.seed.fallbackReason ?? result.seed.source))];
  return [
    {
      kind: 'fallback-seed',
      message: `${describeGroup(group)}: ${fallbacks.length} result(s) ran on a fallback seed, not the one their workunit should have carried (${reasons.join('; ')})`,
      files: filesOf(fallbacks),
    },
  ];
}

export function replicationProblems(groups: readonly ConfigurationGroup[]): ReplicationProblem[] {
  return [...groups.flatMap(sharedSeeds), ...identicalDigests(groups.flatMap((group) => group.records)), ...groups.flatMap(fallbackSeeds)];
}

const FILES_SHOWN = 5;

/** The loud block analyze and report put before anything else. Empty when there is nothing to flag. */
export function replicationWarningLines(problems: readonly ReplicationProblem[]): string[] {
  if (problems.length === 0) return [];
  return [
    `WARNING: ${problems.length} replication problem(s): these results are not as independent as their number suggests.`,
    ...problems.flatMap((problem) => {
      const shown = problem.files.slice(0, FILES_SHOWN);
      const more = problem.files.length > FILES_SHOWN ? [`      … and ${problem.files.length - FILES_SHOWN} more`] : [];
      return [`  [${problem.kind}] ${problem.message}`, ...shown.map((file) => `      ${file}`), ...more];
    }),
    'Statistics below count distinct seeds, not files.',
  ];
}
