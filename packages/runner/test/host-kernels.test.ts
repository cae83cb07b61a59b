import { describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng } from '@axiom/runner';
import { hostKernelsWanted, loadHostKernels, type HostKernels, type HostProducts } from '../src/host-kernels.js';
import { KERNELS_WASM } from '../src/native-kernels-wasm.js';

/** The addon `npm run build` makes; this file checks it, so it must be there (CI installs the compiler). */
function builtHostKernels(): HostKernels {
  const state = loadHostKernels();
  if (!state.loaded) throw new Error(`the host kernels did not load (${state.why}): npm run build makes them, with a C compiler (Debian: clang)`);
  return state.kernels;
}

type Call = (...args: number[]) => void;

// Shapes around every edge of both builds: rows around the tiles of 6 and 2 rows, columns around WASM's 8-column
// and the host's 16- and 32-column panels, one member and several, shared and per-member inputs, the default sweeps' sizes.
const shapes = [
  { members: 3, rows: 7, inputs: 5, units: 11, shared: false },
  { members: 2, rows: 16, inputs: 33, units: 8, shared: true },
  { members: 1, rows: 13, inputs: 64, units: 20, shared: false },
  { members: 5, rows: 1, inputs: 17, units: 1, shared: true },
  { members: 2, rows: 37, inputs: 70, units: 45, shared: false },
  { members: 3, rows: 8, inputs: 31, units: 33, shared: false },
  { members: 2, rows: 100, inputs: 46, units: 256, shared: true },
  { members: 2, rows: 64, inputs: 256, units: 23, shared: false },
];

/**
 * Every product of each shape, with ReLU and without, by the WASM module and by `host`, on one memory: the bits
 * must be the same, and `host` must write nothing but its outputs.
 */
function compareWithWasm(host: HostProducts, rng: Rng): void {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const wasm = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(KERNELS_WASM, 'base64')), { env: { memory } }).exports as Record<string, Call>;
  const floats = new Float32Array(memory.buffer);
  const bytes = new Uint8Array(memory.buffer);
  for (const { members, rows, inputs, units, shared } of shapes) {
    for (const relu of [1, 0]) {
      const sizes = {
        x: (shared ? 1 : members) * rows * inputs,
        w: members * inputs * units,
        b: members * units,
        dy: members * rows * units,
        y: members * rows * units,
        scratch: (rows + inputs + 1) * (units + 8) + units * (inputs + 8),
        wasmOut: members * Math.max(rows * units, rows * inputs, inputs * units),
        hostOut: members * Math.max(rows * units, rows * inputs, inputs * units),
      };
      const at: Record<string, number> = {};
      let next = 16; // floats; 4-byte addresses that are not vector-aligned
      for (const [name, size] of Object.entries(sizes)) {
        at[name] = next * 4;
        next += size + 5;
      }
      floats.fill(-7.25);
      // Normal values, with exact zeros and negative zeros among them: ReLU's edge.
      for (const name of ['x', 'w', 'b', 'dy']) {
        for (let i = 0; i < sizes[name as keyof typeof sizes]; i++) floats[at[name]! / 4 + i] = [0, -0][rng.int(8)] ?? rng.normal();
      }
      const xStride = shared ? 0 : rows * inputs;
      wasm.dense_forward!(at.x!, xStride, at.w!, at.b!, at.y!, members, rows, inputs, units, relu, at.scratch!);
      const passes: Array<{ name: string; outputFloats: number; wasmCall: () => void; hostCall: () => void }> = [
        {
          name: 'forward',
          outputFloats: members * rows * units,
          wasmCall: () => wasm.dense_forward!(at.x!, xStride, at.w!, at.b!, at.wasmOut!, members, rows, inputs, units, relu, at.scratch!),
          hostCall: () => host.denseForward(bytes, at.x!, xStride, at.w!, at.b!, at.hostOut!, members, rows, inputs, units, relu),
        },
        {
          name: 'dx',
          outputFloats: members * rows * inputs,
          wasmCall: () => wasm.dense_backprop_input!(at.dy!, at.y!, at.w!, at.wasmOut!, members, rows, inputs, units, relu, at.scratch!),
          hostCall: () => host.denseBackpropInput(bytes, at.dy!, at.y!, at.w!, at.hostOut!, members, rows, inputs, units, relu),
        },
        {
          name: 'dW',
          outputFloats: members * inputs * units,
          wasmCall: () => wasm.dense_backprop_filter!(at.dy!, at.y!, at.x!, xStride, at.wasmOut!, members, rows, inputs, units, relu, at.scratch!),
          hostCall: () => host.denseBackpropFilter(bytes, at.dy!, at.y!, at.x!, xStride, at.hostOut!, members, rows, inputs, units, relu),
        },
      ];
      for (const { name, outputFloats, wasmCall, hostCall } of passes) {
        const label = `${host.instructions} ${name}, ${members}×${rows}×${inputs}→${units}${shared ? ' shared x' : ''}${relu ? ' relu' : ''}`;
        wasmCall();
        const before = bytes.slice();
        hostCall();
        const output = at.hostOut! / 4;
        expect(Buffer.from(floats.buffer, at.hostOut!, outputFloats * 4).equals(Buffer.from(floats.buffer, at.wasmOut!, outputFloats * 4)), label).toBe(true);
        // Everything else is as it was: the host's output region only changed.
        before.set(bytes.subarray(output * 4, (output + outputFloats) * 4), output * 4);
        expect(Buffer.from(bytes).equals(Buffer.from(before)), `${label}: memory outside its output`).toBe(true);
      }
    }
  }
}

describe('host kernels', () => {
  it('give the bits of the WASM kernels in every instruction set this CPU runs, and write only their outputs', () => {
    const host = builtHostKernels();
    expect(Object.keys(host.variants)).toContain(host.instructions);
    expect(Object.keys(host.variants).at(-1)).toBe('baseline');
    for (const variant of Object.values(host.variants)) compareWithWasm(variant, new Rng(11));
  });

  it('refuse what would reach outside the memory, and malformed calls, with an error naming the fault', () => {
    const host = builtHostKernels();
    const memory = new Uint8Array(new WebAssembly.Memory({ initial: 1 }).buffer);
    const end = memory.byteLength;
    const [members, rows, inputs, units] = [2, 3, 4, 5];
    const forward =
      (x: number, w: number, y: number, xStride = 0, m = members) =>
      () =>
        host.denseForward(memory, x, xStride, w, 0, y, m, rows, inputs, units, 1);
    expect(forward(0, 1024, 4096)).not.toThrow();
    expect(forward(end - 4 * (rows * inputs - 1), 1024, 4096)).toThrow('outside the memory or unaligned: x');
    expect(forward(0, 1026, 4096)).toThrow('unaligned: W');
    expect(forward(0, 1024, end - 8)).toThrow('outside the memory or unaligned: y');
    expect(forward(0, 1024, 4096, rows * inputs + 1)).toThrow("x's member stride must be 0 (shared) or rows · in");
    expect(forward(0, 1024, 4096, 0, 0)).toThrow('must be at least 1');
    expect(forward(0, 1024, 4096, 0, 2 ** 30)).toThrow('outside the memory');
    expect(forward(-4, 1024, 4096)).toThrow('an integer in [0, 2^31)');
    expect(forward(0.5, 1024, 4096)).toThrow('an integer in [0, 2^31)');
    expect(() => host.denseForward(memory, 0, 0, 1024)).toThrow('wrong number of arguments');
    expect(() => host.denseForward(new Float32Array(memory.buffer), 0, 0, 1024, 0, 4096, members, rows, inputs, units, 1)).toThrow('as a Uint8Array');
    expect(() => host.denseBackpropInput(memory, 0, 0, 0, end - 4, members, rows, inputs, units, 1)).toThrow('outside the memory or unaligned: dx');
    expect(() => host.denseBackpropFilter(memory, 0, 0, 0, 0, end - 4, members, rows, inputs, units, 1)).toThrow('outside the memory or unaligned: dW');
  });

  it('are on unless AXIOM_HOST_KERNELS=off; another value is a usage error naming it', () => {
    expect([{}, { AXIOM_HOST_KERNELS: 'on' }, { AXIOM_HOST_KERNELS: 'off' }].map(hostKernelsWanted)).toEqual([true, true, false]);
    expect(() => hostKernelsWanted({ AXIOM_HOST_KERNELS: 'no' })).toThrowError('AXIOM_HOST_KERNELS must be "on" or "off", got "no"');
  });

  it('serve the WASM backend’s stacked dense layers, and a result records them', async () => {
    const host = builtHostKernels();
    const { info, warnings } = await initBackend({ forced: 'wasm', threads: 1 });
    expect(info.patches).toContain(
      `axiom-host-dense (the stacked dense layers' products in this CPU's machine code, ${host.instructions}: the same bits as WASM)`,
    );
    expect(warnings).toEqual([]);
  });
});
