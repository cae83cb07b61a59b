import type { SelfLauncher } from '@axiom/runner/host';

/** The hidden command that makes the CLI's entry point a worker of a run's pool. */
export const POOL_COMMAND = 'pool-worker';

/** How a run starts `entry`, the CLI's entry point (dist/main.js, or an app version's bundle), again as a worker of its pool. */
export const poolWorkerLauncher = (entry: string): SelfLauncher => ({ entry, args: [POOL_COMMAND] });
