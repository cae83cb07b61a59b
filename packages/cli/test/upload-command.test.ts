import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ExitCode, type Result } from '@axiom/runner/host';
import { defaultSpoolDir, uploadFlushCommand, uploadOrSpool } from '../src/upload-command.js';
import { scratch } from './helpers.js';
import { axiomWithResultsCommands, runSmokeToFile } from './results-fixture.js';

describe('axiom run --upload and axiom upload --flush', () => {
  const received = new Map<string, Result>();
  let server: Server;
  let accepting: string;
  let refusing: string;
  let result: Result;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        if (request.url !== '/accept') return response.writeHead(422).end('no');
        received.set(String(request.headers['idempotency-key']), JSON.parse(body) as Result);
        response.writeHead(201).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    [accepting, refusing] = [`${base}/accept`, `${base}/refuse`];
    ({ result } = await runSmokeToFile(await scratch(), 'memorization-dynamics', 4));
  });
  afterAll(() => server.close());
  const quietly = <T>(body: () => Promise<T>) => {
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    return body().finally(() => spy.mockRestore());
  };

  it('uploads with the result id as idempotency key, or spools and says how to deliver later', async () => {
    const spool = await scratch();
    expect(await uploadOrSpool(result, accepting, spool)).toBe(`uploaded result ${result.resultId} to ${accepting}`);
    expect(received.get(result.resultId)).toEqual(result);
    received.clear();

    const status = await uploadOrSpool(result, refusing, spool);
    expect(status).toBe(
      `upload failed (${refusing}: HTTP 422); spooled as ${join(spool, `${result.resultId}.json`)}: deliver it later with \`axiom upload --flush ${refusing}\``,
    );
    expect(await readdir(spool)).toEqual([`${result.resultId}.json`]);

    expect(await quietly(() => uploadFlushCommand({ url: refusing, spoolDir: spool }))).toBe(ExitCode.uploadIncomplete);
    expect(await readdir(spool)).toEqual([`${result.resultId}.json`]);
    expect(await quietly(() => uploadFlushCommand({ url: accepting, spoolDir: spool }))).toBe(0);
    expect(await readdir(spool)).toEqual([]);
    expect(received.get(result.resultId)).toEqual(result);
  });

  it('axiom upload --flush URL --spool-dir DIR on the command line', async () => {
    const spool = await scratch();
    await uploadOrSpool(result, refusing, spool);
    // Asynchronously: the server answering it runs in this process.
    const flushed = await promisify(execFile)(axiomWithResultsCommands[0], [axiomWithResultsCommands[1], 'upload', '--flush', accepting, '--spool-dir', spool]);
    expect(flushed.stdout).toBe(`delivered 1 result(s) from ${spool} to ${accepting}; 0 remain spooled\n`);
  });

  it('spools to $AXIOM_SPOOL_DIR, else under the cache directory', () => {
    expect(defaultSpoolDir({ AXIOM_SPOOL_DIR: '/var/spool/axiom' })).toBe('/var/spool/axiom');
    expect(defaultSpoolDir({})).toBe(join(homedir(), '.cache', 'axiom', 'spool'));
    expect(defaultSpoolDir({ XDG_CACHE_HOME: '/cache' })).toBe('/cache/axiom/spool');
  });
});
