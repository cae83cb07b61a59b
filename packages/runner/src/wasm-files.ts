import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

/** The WASM backend's binaries, by the names tfjs looks them up by. */
export const WASM_BINARIES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;
/** The Emscripten scripts each pthread worker of the threaded build loads. */
export const WASM_THREADS_SCRIPTS = ['tfjs-backend-wasm-threaded-simd.js', 'tfjs-backend-wasm-threaded-simd.worker.js'] as const;
export type WasmRuntimeFile = (typeof WASM_BINARIES)[number] | (typeof WASM_THREADS_SCRIPTS)[number];

/**
 * The name a BOINC app version ships a file under. A physical file name must never change content
 * across a project's app versions, so each carries the tfjs version it belongs to.
 */
export function shippedWasmFileName(name: WasmRuntimeFile): string {
  return `tfjs${tf.version_core}_${name}`;
}

/** The file in node_modules: where development runs load it from, and what the app-version builder copies. */
export function wasmPackageFile(name: WasmRuntimeFile): string {
  const require = createRequire(import.meta.url);
  return require.resolve(`@tensorflow/tfjs-backend-wasm/${name.endsWith('.wasm') ? 'dist' : 'wasm-out'}/${name}`);
}

/** The file beside the running bundle under its shipped name (a BOINC app version), else in node_modules; undefined if neither. */
export function locateWasmFile(name: WasmRuntimeFile): string | undefined {
  const shipped = join(dirname(fileURLToPath(import.meta.url)), shippedWasmFileName(name));
  if (existsSync(shipped)) return shipped;
  try {
    return wasmPackageFile(name);
  } catch {
    return undefined;
  }
}
