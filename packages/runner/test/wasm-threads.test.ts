import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { activateWasmThreads } from '../src/wasm-threads.js';
import { WASM_NODE_THREADS_PATCH } from '@axiom/runner/host';

const run = promisify(execFile);
const builtRunner = new URL('../dist/index.js', import.meta.url).href;
const builtRunnerHost = new URL('../dist/host-entry.js', import.meta.url).href;

/**
 * A fresh process (the backend initialises once per process) that brings up WASM with `threads`, computes
 * a product and both its gradients (the transposed products of a dense layer's training step), prints
 * what it got and ends on its own: a pthread worker keeping Node alive would hang it.
 */
async function inChild(threads: number): Promise<{ threads: number; patches: string[]; warnings: unknown[]; digest: string }> {
  const script = `
    import { createHash } from 'node:crypto';
    import { Rng } from ${JSON.stringify(builtRunner)};
    import { initBackend } from ${JSON.stringify(builtRunnerHost)};
    const { tf, info, warnings } = await initBackend({ forced: 'wasm', threads: ${threads} });
    const rng = new Rng(7);
    const random = (shape) => tf.tensor(Float32Array.from({ length: shape[0] * shape[1] }, () => rng.normal()), shape);
    const x = random([300, 257]);
    const w = random([257, 129]);
    const [dx, dw] = tf.grads((x, w) => tf.matMul(x, w).relu().square().sum())([x, w]);
    const hash = createHash('sha256');
    for (const t of [tf.matMul(x, w), dx, dw]) hash.update(t.dataSync());
    console.log(JSON.stringify({ threads: info.threads, patches: info.patches, warnings, digest: hash.digest('hex') }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  return JSON.parse(stdout) as Awaited<ReturnType<typeof inChild>>;
}

describe('threaded WASM build under Node', () => {
  it('refuses a tfjs-backend-wasm version it was not written for, records why, and runs single-threaded', async () => {
    const setThreadsCount = vi.fn();
    const activate = vi.fn(async () => {});
    const threading = await activateWasmThreads({ version_wasm: '4.21.0', setThreadsCount, getThreadsCount: () => 1 }, 4, activate);
    expect(threading).toEqual({
      threads: 1,
      patches: [],
      warnings: [
        {
          code: 'wasm-threads-unavailable',
          message: expect.stringMatching(/written for tfjs-backend-wasm 4\.22\.0, found 4\.21\.0; running the single-threaded/),
        },
      ],
    });
    expect(setThreadsCount).toHaveBeenCalledWith(1);
    expect(activate).toHaveBeenCalledOnce();
  });

  it('loads with the requested threads, gives bit-identical products and gradients to the single-threaded build, and exits', async () => {
    const [one, two, three] = await Promise.all([1, 2, 3].map(inChild));
    expect(one).toMatchObject({ threads: 1, warnings: [] });
    expect(one!.patches).not.toContain(WASM_NODE_THREADS_PATCH);
    for (const [threaded, threads] of [
      [two, 2],
      [three, 3],
    ] as const) {
      // Three threads on a two-core machine too: the half-the-cores cap is gone.
      expect(threaded).toMatchObject({ threads, warnings: [], digest: one!.digest });
      expect(threaded!.patches).toContain(WASM_NODE_THREADS_PATCH);
    }
  });
});
