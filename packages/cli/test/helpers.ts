import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm test` builds before it runs the tests). */
export const AXIOM = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function startAxiom(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): {
  child: ChildProcess;
  finished: Promise<Finished>;
  /** What it wrote to stderr so far. */
  stderr(): string;
} {
  const env = { ...process.env, AXIOM_SEED: undefined, ...options.env };
  const child = spawn(process.execPath, [AXIOM, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, finished, stderr: () => stderr };
}

export function axiom(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<Finished> {
  return startAxiom(args, options).finished;
}

export function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'axiom-cli-'));
}
