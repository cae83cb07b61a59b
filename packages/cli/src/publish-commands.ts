import { generateKeyPairSync, createPrivateKey, sign } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { AxiomError, errorMessage, sha256Hex, WORKER_API_KEY, WORKER_API_MODULES, type WorkerApiModule } from '@axiom/runner/host';
import { workerApi } from './worker-api.js';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const apiModulePattern = new RegExp(`^(${WORKER_API_MODULES.map((name) => name.replace(/[/]/g, '\\/')).join('|')})$`);

/** Turns imports of the worker's own modules into reads of the global the worker installs (see worker-api in the runner). */
const workerApiPlugin: Plugin = {
  name: 'axiom-worker-api',
  setup(builder) {
    builder.onResolve({ filter: apiModulePattern }, (args) => ({ path: args.path, namespace: 'axiom-worker-api' }));
    builder.onLoad({ filter: /.*/, namespace: 'axiom-worker-api' }, (args) => {
      const module = workerApi[args.path as WorkerApiModule];
      const names = Object.keys(module).filter((name) => name !== 'default' && IDENTIFIER.test(name));
      const contents = [
        `const api = globalThis[Symbol.for(${JSON.stringify(WORKER_API_KEY.description)})]?.[${JSON.stringify(args.path)}];`,
        `if (!api) throw new Error(${JSON.stringify(`this experiment script must be run by the Axiom worker, which provides ${args.path}`)});`,
        `export const { ${names.join(', ')} } = api;`,
        ...('default' in module ? ['export default api.default;'] : []),
      ].join('\n');
      return { contents, loader: 'js' };
    });
  },
};

export interface BundleOptions {
  out: string;
  sign?: string;
  url?: string;
}

/** `axiom bundle`: one ESM file a workunit can reference by URL, with its sha256 (and signature). */
export async function bundleCommand(entry: string, options: BundleOptions): Promise<string> {
  try {
    await build({
      entryPoints: [entry],
      outfile: options.out,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      plugins: [workerApiPlugin],
      logLevel: 'silent',
    });
  } catch (error) {
    throw new AxiomError('unknownExperiment', `cannot bundle ${entry}: ${errorMessage(error)}`);
  }
  const bytes = await readFile(options.out);
  const sha256 = sha256Hex(bytes);
  let signature: string | undefined;
  if (options.sign) {
    let key;
    try {
      key = createPrivateKey(await readFile(options.sign, 'utf8'));
    } catch (error) {
      throw new AxiomError('usage', `--sign: cannot read an Ed25519 private key from ${options.sign} (${errorMessage(error)})`);
    }
    signature = sign(null, bytes, key).toString('base64');
  }
  const experiment = { url: options.url ?? `https://YOUR-SERVER/${options.out.split('/').at(-1)}`, sha256, ...(signature && { signature }) };
  return [
    `wrote ${options.out} (${bytes.length} bytes)`,
    `sha256: ${sha256}`,
    ...(signature ? [`signature: ${signature}`] : []),
    `wu.json: ${JSON.stringify({ experiment, seed: '<a unique uint32 per workunit>' })}`,
  ].join('\n');
}

/** `axiom keygen`: an Ed25519 key pair for signing scripts; the private key is readable by its owner only. */
export async function keygenCommand(options: { outDir: string }): Promise<string> {
  const privatePath = join(options.outDir, 'axiom-signing-key.pem');
  const publicPath = join(options.outDir, 'axiom-public-key.pem');
  for (const path of [privatePath, publicPath]) {
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      throw new AxiomError('outputUnwritable', `${path} exists; refusing to overwrite a key`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await mkdir(options.outDir, { recursive: true });
  await writeFile(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  await writeFile(publicPath, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx' });
  return `private key (keep secret, sign with --sign): ${privatePath}\npublic key (give workers --trusted-key or AXIOM_TRUSTED_KEY): ${publicPath}`;
}
