import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { CodeSigningKey } from './code-signing.js';

/** A result as the client reported it in a scheduler request. */
export interface ReportedResult {
  name: string;
  state: number;
  exitStatus: number;
  stderr: string;
}

/** A file of the app version, as the scheduler hands it out; the first is the main program. */
export interface AppFile {
  name: string;
  bytes: Buffer;
}

const APP = 'axiom';
const VERSION = 1;
/** Client result states (client/result.h). */
export const ResultState = { filesUploaded: 5, computeError: 3, aborted: 6 } as const;

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
const readBody = async (request: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
const parser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, cdataPropName: '__cdata', isArray: (name) => name === 'result' });

/**
 * The smallest BOINC project server the real client accepts (shared/boinc.md, the research notes):
 * master page, scheduler, downloads, upload handler. App files are code-signed; one queued workunit
 * is handed out per scheduler request; reported results are acknowledged and kept for the test.
 */
export class TestProject {
  readonly signing = new CodeSigningKey();
  readonly uploads = new Map<string, Buffer>();
  readonly reports: ReportedResult[] = [];
  private readonly files = new Map<string, Buffer>();
  private readonly queue: string[] = [];
  private server: Server | undefined;
  private base = '';

  private readonly appFiles: AppFile[];

  /** A single launcher, or every file of an app version (see fromAppVersionDirectory). */
  constructor(app: Buffer | AppFile[]) {
    this.appFiles = Buffer.isBuffer(app) ? [{ name: `axiom_launcher_${VERSION}.sh`, bytes: app }] : app;
    for (const file of this.appFiles) this.files.set(file.name, file.bytes);
  }

  /** Serves the app version `axiom boinc app-version` built: the files its version.xml lists, main program first. */
  static async fromAppVersionDirectory(directory: string): Promise<TestProject> {
    const versionXml = await readFile(join(directory, 'version.xml'), 'utf8');
    const entries = [...versionXml.matchAll(/<file>([\s\S]*?)<\/file>/g)].map((match) => ({
      name: /<physical_name>([^<]+)<\/physical_name>/.exec(match[1]!)![1]!,
      main: match[1]!.includes('<main_program/>'),
    }));
    entries.sort((a, b) => Number(b.main) - Number(a.main));
    return new TestProject(await Promise.all(entries.map(async ({ name }) => ({ name, bytes: await readFile(join(directory, name)) }))));
  }

  get masterUrl(): string {
    return `${this.base}/axiom/`;
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      void this.handle(request).then(
        ({ status, body }) => response.writeHead(status, { 'content-type': 'text/xml' }).end(body),
        (error: Error) => response.writeHead(500).end(error.message),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  addWorkunit(name: string, workunit: unknown): void {
    this.files.set(`${name}.json`, Buffer.from(JSON.stringify(workunit)));
    this.queue.push(name);
  }

  report(resultName: string): ReportedResult | undefined {
    return this.reports.find((r) => r.name === resultName);
  }

  async waitForReport(resultName: string, timeoutMs: number): Promise<ReportedResult> {
    const start = Date.now();
    while (Date.now() - start < timeoutMs) {
      const found = this.report(resultName);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`no report of ${resultName} within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(request: IncomingMessage): Promise<{ status: number; body: string | Buffer }> {
    const path = request.url ?? '/';
    if (request.method === 'GET' && path === '/axiom/') {
      return { status: 200, body: `<html><head>\n<link rel="boinc_scheduler" href="${this.base}/cgi">\n</head><body>Axiom test project</body></html>\n` };
    }
    if (request.method === 'GET' && path.startsWith('/download/')) {
      const file = this.files.get(path.slice('/download/'.length));
      return file ? { status: 200, body: file } : { status: 404, body: 'not found' };
    }
    if (request.method === 'POST' && path === '/cgi') return { status: 200, body: this.schedule((await readBody(request)).toString('utf8')) };
    if (request.method === 'POST' && path === '/file_upload_handler') return { status: 200, body: this.upload(await readBody(request)) };
    return { status: 404, body: 'not found' };
  }

  /**
   * The data server protocol (sched/file_upload_handler.cpp): `<get_file_size>` asks how much of a file
   * is stored (the client resumes from there); `<file_upload>` is an XML header ending in a `<data>` line,
   * then the raw bytes from `<offset>`. The client takes a URL as an upload URL only if it contains
   * "file_upload_handler" (otherwise it tries to download the output).
   */
  private upload(body: Buffer): string {
    const reply = (fields: string) => `<data_server_reply>\n${fields}</data_server_reply>\n`;
    const asked = /<get_file_size>([^<]+)<\/get_file_size>/.exec(body.toString('utf8', 0, 2048))?.[1];
    if (asked) return reply(`    <status>0</status>\n    <file_size>${this.uploads.get(asked)?.length ?? 0}</file_size>\n`);
    const marker = body.indexOf('<data>\n');
    const header = body.subarray(0, Math.max(marker, 0)).toString('utf8');
    const name = /<name>([^<]+)<\/name>/.exec(header)?.[1];
    if (marker < 0 || !name) return reply('    <status>-1</status>\n    <message>malformed upload</message>\n');
    const offset = Number(/<offset>(\d+)<\/offset>/.exec(header)?.[1] ?? 0);
    const stored = this.uploads.get(name)?.subarray(0, offset) ?? Buffer.alloc(0);
    this.uploads.set(name, Buffer.concat([stored, body.subarray(marker + '<data>\n'.length)]));
    return reply('    <status>0</status>\n');
  }

  private schedule(requestXml: string): string {
    const request = (parser.parse(requestXml) as { scheduler_request: Record<string, unknown> }).scheduler_request;
    const reported = (request.result as Array<Record<string, unknown>> | undefined) ?? [];
    for (const result of reported) {
      const stderr = result.stderr_out as { __cdata?: string } | string | undefined;
      this.reports.push({
        name: String(result.name),
        state: Number(result.state),
        exitStatus: Number(result.exit_status),
        stderr: typeof stderr === 'object' ? (stderr.__cdata ?? '') : (stderr ?? ''),
      });
    }
    const parts = ['<scheduler_reply>', '<next_rpc_delay>2</next_rpc_delay>'];
    if (!requestXml.includes('<code_sign_key>')) parts.push(`<code_sign_key>\n${this.signing.publicKeyText}</code_sign_key>`);
    for (const result of reported) parts.push(`<result_ack>\n    <name>${result.name}</name>\n</result_ack>`);
    const workunit = Number(request.work_req_seconds ?? 0) > 0 ? this.queue.shift() : undefined;
    if (workunit) parts.push(...this.job(workunit));
    parts.push('</scheduler_reply>');
    return `${parts.join('\n')}\n`;
  }

  private job(name: string): string[] {
    const input = this.files.get(`${name}.json`)!;
    const deadline = Math.floor(Date.now() / 1000) + 7 * 86400;
    // The client refuses unsigned app files; marking them all executable lets a shipped node binary run.
    const appFileInfos = this.appFiles.map(
      ({ name: file, bytes }) =>
        `<file_info>\n    <name>${file}</name>\n    <url>${this.base}/download/${file}</url>\n    <executable/>\n` +
        `    <nbytes>${bytes.length}</nbytes>\n    <md5_cksum>${md5(bytes)}</md5_cksum>\n` +
        `    <file_signature>\n${this.signing.sign(bytes)}</file_signature>\n</file_info>`,
    );
    const appFileRefs = this.appFiles.map(
      ({ name: file }, index) => `    <file_ref>\n        <file_name>${file}</file_name>\n${index === 0 ? '        <main_program/>\n' : ''}    </file_ref>\n`,
    );
    return [
      `<app>\n    <name>${APP}</name>\n</app>`,
      ...appFileInfos,
      `<app_version>\n    <app_name>${APP}</app_name>\n    <version_num>${VERSION}</version_num>\n    <api_version>7.20.0</api_version>\n` +
        `${appFileRefs.join('')}</app_version>`,
      `<file_info>\n    <name>${name}.json</name>\n    <url>${this.base}/download/${name}.json</url>\n    <nbytes>${input.length}</nbytes>\n    <md5_cksum>${md5(input)}</md5_cksum>\n</file_info>`,
      `<workunit>\n    <name>${name}</name>\n    <app_name>${APP}</app_name>\n    <version_num>${VERSION}</version_num>\n` +
        '    <rsc_fpops_est>30000000000</rsc_fpops_est>\n    <rsc_fpops_bound>100000000000000</rsc_fpops_bound>\n' +
        '    <rsc_memory_bound>1000000000</rsc_memory_bound>\n    <rsc_disk_bound>1000000000</rsc_disk_bound>\n' +
        `    <file_ref>\n        <file_name>${name}.json</file_name>\n        <open_name>wu.json</open_name>\n    </file_ref>\n</workunit>`,
      `<file_info>\n    <name>${name}_r0_result</name>\n    <generated_locally/>\n    <upload_when_present/>\n    <max_nbytes>50000000</max_nbytes>\n    <url>${this.base}/file_upload_handler</url>\n</file_info>`,
      `<result>\n    <name>${name}_r0</name>\n    <wu_name>${name}</wu_name>\n    <report_deadline>${deadline}</report_deadline>\n` +
        `    <file_ref>\n        <file_name>${name}_r0_result</file_name>\n        <open_name>result.json</open_name>\n    </file_ref>\n</result>`,
    ];
  }
}
