import { execFile } from 'node:child_process';
import { access, constants, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { dawnPackageFiles, WEBGPU_PACKAGE_VERSION } from '@axiom/runner/host';
import { buildAppVersion } from '@axiom/wrapper';

// The layout only; packages/cli/test/boinc-commands.test.ts bundles the real worker and runs it under the client.
describe('buildAppVersion', () => {
  it('lays out a cuda app version with the Node binary, launcher first and executable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'axiom-app-version-'));
    const wasm = join(dir, 'tfjs-backend-wasm.wasm');
    await writeFile(wasm, 'wasm');
    const built = await buildAppVersion({
      outDir: join(dir, 'project'),
      platform: 'x86_64-pc-linux-gnu',
      planClass: 'cuda',
      version: '2.3',
      bundleWorker: (outfile) => writeFile(outfile, '// the bundle'),
      siblingFiles: [{ source: wasm, name: 'tfjs9.9.9_tfjs-backend-wasm.wasm' }],
      nodeBinary: process.execPath,
    });
    const node = `node_${process.versions.node}`;
    expect(built.directory).toBe(join(dir, 'project', 'apps', 'axiom', '2.3', 'x86_64-pc-linux-gnu__cuda'));
    expect(built.files).toEqual(['axiom_launcher_2.3__cuda.sh', 'axiom_worker_2.3.mjs', 'tfjs9.9.9_tfjs-backend-wasm.wasm', node]);
    const launcher = await readFile(join(built.directory, built.files[0]!), 'utf8');
    // Always `worker`, wrapped only when asked: whatever the client appends (--nthreads N) is not passed on.
    expect(launcher).toContain(`exec "$here/${node}" "$here/axiom_worker_2.3.mjs" worker $mode`);
    for (const file of [built.files[0]!, node]) await access(join(built.directory, file), constants.X_OK);
    expect(await readFile(join(built.directory, 'version.xml'), 'utf8')).toMatch(
      /^<version>\n {2}<file>\n {4}<physical_name>axiom_launcher_2\.3__cuda\.sh<\/physical_name>\n {4}<main_program\/>/,
    );
    await expect(
      buildAppVersion({ outDir: dir, platform: 'p', planClass: 'cpu', version: '1', bundleWorker: async () => {}, siblingFiles: [] }),
    ).rejects.toThrow(/not major.minor/);
  });

  it('the launcher runs `worker`, wrapped only when asked, whatever arguments the client appends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'axiom-app-version-'));
    // A stand-in for Node that prints the arguments it was given.
    const echo = join(dir, 'echo-args');
    await writeFile(echo, '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
    const built = await buildAppVersion({
      outDir: dir,
      platform: 'p',
      planClass: 'mt',
      version: '1.0',
      bundleWorker: (outfile) => writeFile(outfile, ''),
      siblingFiles: [],
      nodeBinary: echo,
    });
    const launch = async (args: string[]) => (await promisify(execFile)(join(built.directory, built.files[0]!), args)).stdout.trim();
    const worker = join(built.directory, 'axiom_worker_1.0.mjs');
    expect(await launch([])).toBe(`${worker} worker`);
    expect(await launch(['--nthreads', '4']), 'a plan class appends --nthreads (client/app_start.cpp)').toBe(`${worker} worker`);
    expect(await launch(['worker', '--wrapped', '--nthreads', '4', '--device', '0']), "job.xml's command line, then the client's").toBe(
      `${worker} worker --wrapped`,
    );
  });
});

describe('WebGPU app versions', () => {
  it('ship the prebuilt Dawn of their platform under versioned names; the shader compilers Windows needs are copied into the slot under their own', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'axiom-app-version-'));
    const build = (platform: string) =>
      buildAppVersion({
        outDir: dir,
        platform,
        planClass: 'webgpu_amd',
        version: '1.4',
        bundleWorker: (outfile) => writeFile(outfile, '// the bundle'),
        siblingFiles: dawnPackageFiles(platform),
      });
    const linux = await build('x86_64-pc-linux-gnu');
    expect(linux.directory).toBe(join(dir, 'apps', 'axiom', '1.4', 'x86_64-pc-linux-gnu__webgpu_amd'));
    expect(linux.files).toEqual(['axiom_launcher_1.4__webgpu_amd.sh', 'axiom_worker_1.4.mjs', `webgpu${WEBGPU_PACKAGE_VERSION}_dawn.node`]);
    const installed = createRequire(import.meta.url).resolve('webgpu');
    const [shipped, packaged] = [
      await readFile(join(linux.directory, linux.files[2]!)),
      await readFile(join(dirname(installed), 'dist', 'linux-x64', 'dawn.node')),
    ];
    expect(shipped.equals(packaged)).toBe(true);
    const windows = await build('windows_x86_64');
    const xml = await readFile(join(windows.directory, 'version.xml'), 'utf8');
    expect(xml).toContain(
      `<physical_name>webgpu${WEBGPU_PACKAGE_VERSION}_dxcompiler.dll</physical_name>\n    <open_name>dxcompiler.dll</open_name>\n    <copy_file/>`,
    );
    expect(xml).toContain(
      `<physical_name>webgpu${WEBGPU_PACKAGE_VERSION}_d3dcompiler_47.dll</physical_name>\n    <open_name>d3dcompiler_47.dll</open_name>\n    <copy_file/>`,
    );
    expect(() => dawnPackageFiles('sparc-sun-solaris')).toThrowError(/no prebuilt Dawn for BOINC platform "sparc-sun-solaris"/);
  });

  it('name the webgpu package version the lockfile installs', async () => {
    const installed = JSON.parse(await readFile(join(dirname(createRequire(import.meta.url).resolve('webgpu')), 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(WEBGPU_PACKAGE_VERSION).toBe(installed.version);
  });
});
