// Compiles the host kernels (native/host-kernels.c and native/host-dense.c: the stacked dense layers' products in
// this CPU's machine code) into a Node-API addon, dist/axiom-host-kernels.node, with the system's C compiler ($CC,
// else clang, else cc: clang's code for these loops measured 1.5× gcc 12's on AVX2) and the headers of the Node
// that runs this. Part of `npm run build`. Where either is missing, the platform is not one it builds for, or the
// compiler fails, it says so and leaves no addon (not even an older one, which would no longer match the source):
// the layers then run in WASM, with the same results, about three times slower. On CI (CI=true) that is an error.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const native = fileURLToPath(new URL('../native/', import.meta.url));
const ADDON = fileURLToPath(new URL('../dist/axiom-host-kernels.node', import.meta.url));

// No fused multiply-add (dense.h: the bits must be WASM's); position-independent, for a shared object.
const FLAGS = ['-O3', '-std=c11', '-fPIC', '-ffp-contract=off', '-fno-fast-math', '-Wall', '-Wno-unused-function', '-Wno-psabi', '-Werror'];
// Each instruction set the products are compiled for, by architecture, with its vector width (LANES floats);
// host-kernels.c picks the widest the CPU has.
const VARIANTS = {
  x64: { avx512: ['-mavx512f', '-DLANES=16'], avx2: ['-mavx2', '-DLANES=8'], baseline: ['-DLANES=4'] },
  arm64: { baseline: ['-DLANES=4'] },
};
// Node resolves an addon's napi_* symbols when it loads it; macOS's linker must be told to leave them.
const LINK = { linux: ['-shared'], freebsd: ['-shared'], darwin: ['-bundle', '-undefined', 'dynamic_lookup'] };

function runs(compiler) {
  try {
    execFileSync(compiler, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the addon cannot be built here, or undefined if it can. */
function missing(compiler, headers) {
  if (!VARIANTS[process.arch] || !LINK[process.platform]) return `no build for ${process.platform}-${process.arch}`;
  if (!existsSync(join(headers, 'node_api.h'))) return `no Node-API headers at ${headers}`;
  return runs(compiler) ? undefined : `no C compiler (${compiler})`;
}

/** Builds the addon into `output`, or says why it cannot; throws if the compiler fails (its messages on stderr). */
export function buildHostKernels(output = ADDON, compiler = process.env.CC || (runs('clang') ? 'clang' : 'cc')) {
  const headers = join(dirname(process.execPath), '..', 'include', 'node');
  const reason = missing(compiler, headers);
  if (reason) return { built: false, reason };
  // Beside the output, so that the rename below stays on one file system.
  mkdirSync(dirname(output), { recursive: true });
  const directory = mkdtempSync(join(dirname(output), '.axiom-host-kernels-'));
  try {
    const objects = Object.entries(VARIANTS[process.arch]).map(([variant, flags]) => {
      const object = join(directory, `host-dense-${variant}.o`);
      execFileSync(compiler, [...FLAGS, ...flags, `-DVARIANT=${variant}`, '-c', join(native, 'host-dense.c'), '-o', object], { stdio: 'inherit' });
      return object;
    });
    const addon = join(directory, 'axiom-host-kernels.node');
    execFileSync(compiler, [...FLAGS, `-I${headers}`, ...LINK[process.platform], join(native, 'host-kernels.c'), ...objects, '-o', addon], {
      stdio: 'inherit',
    });
    // Whole or not at all: a process loading it meanwhile sees the old file or the new one.
    renameSync(addon, output);
    return { built: true };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  let outcome;
  try {
    outcome = buildHostKernels();
  } catch (error) {
    outcome = { built: false, reason: `the compiler failed (${error.message.split('\n')[0]})` };
  }
  if (!outcome.built) {
    rmSync(ADDON, { force: true });
    const message = `host kernels not built: ${outcome.reason}. The stacked dense layers will run in WASM (the same results, about 3× slower).`;
    if (process.env.CI === 'true') {
      console.error(`error: ${message}`);
      process.exit(1);
    }
    console.warn(`note: ${message}`);
  }
}
