import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AXIOM } from '../simulated-slot.js';
import { freePort } from './boinc-client.js';

const run = promisify(execFile);
const BUILD_SCRIPT = fileURLToPath(new URL('./build-boinc-server.sh', import.meta.url));
const PROJECT = 'axiomtest';
const DB_USER = 'boincadm';
const DB_PASSWORD = 'axiom-test';
/** Debian's packages the server needs at run time (.ci/run installs them with the build packages). */
const RUNTIME_COMMANDS = ['/usr/sbin/mariadbd', '/usr/bin/mariadb-install-db', '/usr/sbin/apache2', '/usr/bin/php'];

/** The BOINC server build (build-boinc-server.sh: cached after the first time, ~10 min on 2 cores). */
export async function boincServerBuild(): Promise<string> {
  const { stdout } = await run('bash', [BUILD_SCRIPT], { maxBuffer: 1 << 24, timeout: 3_600_000 });
  return stdout.trim().split('\n').at(-1)!;
}

const waitFor = async (what: string, check: () => Promise<boolean>, attempts: number, intervalMs = 250) => {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what}: not after ${attempts} checks`);
};

/**
 * A real BOINC project (server release 1.6.2) on 127.0.0.1, as a project admin sets one up: MariaDB and
 * Apache with PHP in a scratch directory on ports picked now, `make_project`, the project's own tools
 * for apps and work, and its daemons started by `bin/start`. Everything it starts, `stop` stops.
 */
export class BoincProject {
  readonly root: string;
  readonly masterUrl: string;
  /** PATH for the project's tools: Debian's python3 as `python`, and `axiom` for the daemons' scripts. */
  readonly env: NodeJS.ProcessEnv;
  private mariadb: ChildProcess | undefined;
  private apacheConf = '';

  private constructor(
    readonly build: string,
    readonly scratch: string,
    private readonly dbPort: number,
    readonly httpPort: number,
  ) {
    this.root = join(scratch, 'project');
    this.masterUrl = `http://127.0.0.1:${httpPort}/${PROJECT}/`;
    const shims = join(scratch, 'bin');
    this.env = { ...process.env, PATH: `${shims}:${process.env.PATH}`, USER: 'root', AXIOM_RESULTS: join(scratch, 'results') };
  }

  get socket(): string {
    return join(this.scratch, 'mysqld.sock');
  }

  static async create(): Promise<BoincProject> {
    const missing = RUNTIME_COMMANDS.filter((command) => !existsSync(command));
    if (missing.length)
      throw new Error(
        `the BOINC server test needs ${missing.join(', ')} (apt-get install mariadb-server apache2 php php-cli php-mysql php-xml libapache2-mod-php python3-mysqldb)`,
      );
    const build = await boincServerBuild();
    const scratch = await mkdtemp(join(tmpdir(), 'axiom-boinc-server-'));
    // Apache's children run as www-data and must reach the project directory (the tests' temporary root is 0700).
    await chmod(scratch, 0o755);
    await chmod(dirname(scratch), 0o711);
    const project = new BoincProject(build, scratch, await freePort(), await freePort());
    try {
      await project.writeShims();
      await project.startDatabase();
      await project.makeProject();
      await project.startApache();
    } catch (error) {
      const stopped = await project.stop().then(
        () => '',
        (stopError: Error) => `\n(and ${stopError.message})`,
      );
      throw new Error(`setting up the BOINC project: ${(error as Error).message}${stopped}`, { cause: error });
    }
    return project;
  }

  private async writeShims(): Promise<void> {
    const shims = join(this.scratch, 'bin');
    await mkdir(shims);
    // The Python tools start with `#!/usr/bin/env python` and need Debian's MySQLdb.
    await writeFile(join(shims, 'python'), '#!/bin/sh\nexec /usr/bin/python3 "$@"\n', { mode: 0o755 });
    await writeFile(join(shims, 'axiom'), `#!/bin/sh\nexec "${process.execPath}" "${AXIOM}" "$@"\n`, { mode: 0o755 });
  }

  private async startDatabase(): Promise<void> {
    const data = join(this.scratch, 'mysql');
    await run('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=normal'], { env: this.env });
    this.mariadb = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--user=root',
        '--bind-address=127.0.0.1',
        `--port=${this.dbPort}`,
        `--socket=${this.socket}`,
        `--pid-file=${join(this.scratch, 'mysqld.pid')}`,
        '--skip-log-bin',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    this.mariadb.stderr!.on('data', (chunk) => (log += chunk));
    await waitFor(
      `MariaDB on 127.0.0.1:${this.dbPort} (log: ${log.slice(-2000)})`,
      () =>
        this.sql('SELECT 1', '').then(
          () => true,
          () => false,
        ),
      120,
    );
    // Connections over 127.0.0.1 count as from 'localhost', where mariadb-install-db's anonymous user would win over '%'.
    const grants = ['%', 'localhost'].map(
      (host) => `CREATE USER '${DB_USER}'@'${host}' IDENTIFIED BY '${DB_PASSWORD}'; GRANT ALL ON *.* TO '${DB_USER}'@'${host}' WITH GRANT OPTION;`,
    );
    await this.sql(grants.join(' '), '');
  }

  /** Runs SQL as root over the socket; rows tab-separated. */
  async sql(statement: string, database = PROJECT): Promise<string[][]> {
    const { stdout } = await run('mariadb', ['--no-defaults', '-S', this.socket, '-u', 'root', '-N', '-B', '-e', statement, ...(database ? [database] : [])]);
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t'));
  }

  private async makeProject(): Promise<void> {
    await run(
      join(this.build, 'tools', 'make_project'),
      [
        '--no_query',
        '--delete_prev_inst',
        '--drop_db_first',
        '--project_root',
        this.root,
        '--project_host',
        hostname(),
        '--url_base',
        `http://127.0.0.1:${this.httpPort}/`,
        '--db_host',
        `127.0.0.1:${this.dbPort}`,
        '--db_user',
        DB_USER,
        '--db_passwd',
        DB_PASSWORD,
        '--db_name',
        PROJECT,
        PROJECT,
        'Axiom test project',
      ],
      { env: this.env, cwd: join(this.build, 'tools'), maxBuffer: 1 << 24 },
    );
  }

  private async startApache(): Promise<void> {
    const modules = '/usr/lib/apache2/modules';
    const moduleLines = ['mpm_prefork', 'authz_core', 'authz_host', 'mime', 'alias', 'cgi', 'dir', 'autoindex', 'negotiation'].map(
      (name) => `LoadModule ${name}_module ${modules}/mod_${name}.so`,
    );
    this.apacheConf = join(this.scratch, 'httpd.conf');
    await writeFile(
      this.apacheConf,
      [
        `ServerRoot ${this.scratch}`,
        'ServerName 127.0.0.1',
        `Listen 127.0.0.1:${this.httpPort}`,
        `PidFile ${join(this.scratch, 'apache.pid')}`,
        `DefaultRuntimeDir ${this.scratch}`,
        `ErrorLog ${join(this.scratch, 'apache-error.log')}`,
        'User www-data',
        'Group www-data',
        ...moduleLines,
        `LoadModule php_module ${modules}/libphp8.2.so`,
        'TypesConfig /etc/mime.types',
        'DirectoryIndex index.php index.html',
        '<FilesMatch "\\.php$">\n    SetHandler application/x-httpd-php\n</FilesMatch>',
        `Include ${join(this.root, `${PROJECT}.httpd.conf`)}`,
        '',
      ].join('\n'),
    );
    // make_project leaves the web and upload directories to root (mode 2770): Apache's children are www-data.
    await run('chgrp', ['-R', 'www-data', this.root]);
    await run('chmod', ['-R', 'g+rwX', this.root]);
    await run('apache2', ['-f', this.apacheConf, '-k', 'start'], { env: this.env });
    let last = 'no answer';
    const masterPageOk = () =>
      fetch(this.masterUrl).then(
        async (response) => ((last = `${response.status}: ${(await response.text()).slice(0, 500)}`), response.ok),
        (error: Error) => ((last = error.message), false),
      );
    await waitFor('the master page', masterPageOk, 120).catch(async (error: Error) => {
      throw new Error(
        `${error.message}; last ${last}; Apache's log:\n${(await readFile(join(this.scratch, 'apache-error.log'), 'utf8').catch(() => '')).slice(-2000)}`,
      );
    });
  }

  /** Runs one of the project's tools (`bin/…`) in the project directory. */
  async tool(command: string, args: string[], input?: string): Promise<string> {
    const child = execFile(join(this.root, command), args, { cwd: this.root, env: this.env, maxBuffer: 1 << 24 });
    if (input !== undefined) child.stdin!.end(input);
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout!.on('data', (chunk) => (out += chunk));
      child.stderr!.on('data', (chunk) => (err += chunk));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve({ stdout: out, stderr: err }) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${out}\n${err}`)),
      );
    });
    return stdout + stderr;
  }

  /** Runs the `axiom` CLI with the project's environment. */
  async axiom(args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, [AXIOM, ...args], { cwd: this.root, env: this.env, maxBuffer: 1 << 24 });
    return stdout;
  }

  /** An account through the project's web RPC (create_account.php); returns its authenticator. */
  async createAccount(name: string): Promise<string> {
    const email = `${name}@axiom.test`;
    const passwordHash = createHash('md5').update(`secret-${name}${email}`).digest('hex');
    const query = new URLSearchParams({ email_addr: email, passwd_hash: passwordHash, user_name: name });
    const reply = await (await fetch(`${this.masterUrl}create_account.php?${query}`)).text();
    const authenticator = /<authenticator>([^<]+)<\/authenticator>/.exec(reply)?.[1];
    if (!authenticator) throw new Error(`create_account.php gave no authenticator: ${reply}`);
    return authenticator;
  }

  async readConfig(): Promise<string> {
    return readFile(join(this.root, 'config.xml'), 'utf8');
  }

  async writeConfig(config: string): Promise<void> {
    await writeFile(join(this.root, 'config.xml'), config);
  }

  async log(name: string): Promise<string> {
    const dir = join(this.root, `log_${hostname().split('.')[0]}`);
    return readFile(join(dir, name), 'utf8').catch(() => '');
  }

  /** Stops what it started: the daemons, Apache, MariaDB; then removes the scratch directory. */
  async stop(): Promise<void> {
    const errors: string[] = [];
    const attempt = async (what: string, step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (error) {
        errors.push(`${what}: ${(error as Error).message}`);
      }
    };
    if (existsSync(join(this.root, 'config.xml'))) await attempt('bin/stop', () => this.tool('bin/stop', []));
    if (this.apacheConf) await attempt('apache2 -k stop', () => run('apache2', ['-f', this.apacheConf, '-k', 'stop']));
    if (this.mariadb && this.mariadb.exitCode === null) {
      const exited = new Promise((resolve) => this.mariadb!.once('close', resolve));
      this.mariadb.kill('SIGTERM');
      await exited;
    }
    // Apache's stop returns before its children have gone; wait for the pid file to go with them.
    await attempt('apache exit', () => waitFor('Apache exit', async () => !existsSync(join(this.scratch, 'apache.pid')), 80));
    await rm(this.scratch, { recursive: true, force: true });
    if (errors.length) throw new Error(`stopping the BOINC project: ${errors.join('; ')}`);
  }
}
