import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import workerThreads from 'node:worker_threads';

/** Something a fetched script tried that its sandbox forbids. */
export interface SandboxViolation {
  /** `FileSystemRead`, `FileSystemWrite`, `ChildProcess`, `WorkerThreads`, `Addon` (Node's names), or `Network`. */
  permission: string;
  /** The path, host or API it tried to reach. */
  resource: string;
}

type AnyFunction = (...args: unknown[]) => unknown;
type Report = (violation: SandboxViolation) => void;

const deniedBy = (error: unknown): SandboxViolation | undefined => {
  const denied = error as { code?: string; permission?: string; resource?: string } | null;
  return denied?.code === 'ERR_ACCESS_DENIED' ? { permission: denied.permission ?? 'unknown', resource: denied.resource || '(any)' } : undefined;
};

/** Keeps a wrapped function's own properties (`fs.realpath.native`, `util.promisify.custom`). */
function withPropertiesOf(wrapper: AnyFunction, original: AnyFunction): AnyFunction {
  const descriptors = Object.getOwnPropertyDescriptors(original);
  for (const key of ['length', 'name', 'prototype']) delete (descriptors as Record<string, unknown>)[key];
  return Object.defineProperties(wrapper, descriptors);
}

/**
 * Node's permission model stops file, process and worker access with ERR_ACCESS_DENIED, but a script
 * can catch the error and go on. Wrapping each function reports every denial, however it surfaces
 * (thrown, rejected, or passed to a callback), so the host can stop the run.
 */
function reportDenials(target: Record<string, unknown>, report: Report): void {
  for (const [name, value] of Object.entries(target)) {
    // Lower-case functions only: classes (fs.ReadStream, …) keep their identity.
    if (typeof value !== 'function' || !/^[a-z]/.test(name)) continue;
    const original = value as AnyFunction;
    const check = (error: unknown) => {
      const violation = deniedBy(error);
      if (violation) report(violation);
    };
    target[name] = withPropertiesOf(function (this: unknown, ...args: unknown[]) {
      const last = args.at(-1);
      if (typeof last === 'function') {
        args[args.length - 1] = function (this: unknown, error: unknown, ...rest: unknown[]) {
          check(error);
          return (last as AnyFunction).call(this, error, ...rest);
        };
      }
      try {
        const returned = original.apply(this, args);
        if (returned instanceof Promise) {
          return returned.catch((error: unknown) => {
            check(error);
            throw error;
          });
        }
        return returned;
      } catch (error) {
        check(error);
        throw error;
      }
    }, original);
  }
}

/** Replaces network entry points with ones that report and throw; the OS namespace (when there is one) is the real wall. */
function denyNetwork(report: Report): void {
  const refuse = (api: string) =>
    function refused(): never {
      report({ permission: 'Network', resource: api });
      throw Object.assign(new Error(`sandbox: ${api} is not allowed: experiment scripts get no network access`), {
        code: 'ERR_ACCESS_DENIED',
        permission: 'Network',
        resource: api,
      });
    };
  const modules: Array<[string, Record<string, unknown>, string[]]> = [
    ['net', net, ['connect', 'createConnection', 'createServer']],
    ['tls', tls, ['connect', 'createServer']],
    ['http', http, ['request', 'get', 'createServer']],
    ['https', https, ['request', 'get', 'createServer']],
    ['http2', http2, ['connect', 'createServer', 'createSecureServer']],
    ['dgram', dgram, ['createSocket']],
    ['dns', dns, Object.keys(dns).filter((name) => /^(lookup|resolve|reverse)/.test(name))],
    ['dns/promises', dns.promises, Object.keys(dns.promises).filter((name) => /^(lookup|resolve|reverse)/.test(name))],
  ];
  for (const [module, exports, names] of modules) for (const name of names) exports[name] = refuse(`${module}.${name}`);
  net.Socket.prototype.connect = refuse('net.Socket.connect');
  for (const name of ['fetch', 'WebSocket', 'EventSource']) {
    if (name in globalThis) Object.defineProperty(globalThis, name, { value: refuse(name), writable: false, configurable: false });
  }
}

/**
 * Installs the in-process half of a fetched script's sandbox, before the script is imported. Node's
 * permission model (the process flags) does the refusing for files, processes, workers and addons;
 * this reports those refusals and refuses the network, which Node 20's model does not cover.
 */
export function installSandboxGuards(report: Report): void {
  reportDenials(fs, report);
  reportDenials(fs.promises, report);
  reportDenials(childProcess, report);
  const OriginalWorker = workerThreads.Worker;
  (workerThreads as { Worker: unknown }).Worker = new Proxy(OriginalWorker, {
    construct(target, args: unknown[]) {
      try {
        return Reflect.construct(target, args) as object;
      } catch (error) {
        const violation = deniedBy(error);
        if (violation) report(violation);
        throw error;
      }
    },
  });
  for (const name of ['binding', 'dlopen'] as const) {
    const holder = process as unknown as Record<string, unknown>;
    const wrapped = { [name]: holder[name] };
    reportDenials(wrapped, report);
    holder[name] = wrapped[name];
  }
  denyNetwork(report);
  // ESM imports of the built-ins (`import { readFile } from 'node:fs'`) see the wrapped functions too.
  syncBuiltinESMExports();
}
