// The two third-party AWS validators `npm run test:aws` runs, as a user of this field installs them: cfn-lint (AWS's
// CloudFormation linter, `pipx install cfn-lint`) and moto's server (an AWS API emulator with IAM's policy validator,
// `pip install "moto[server]"`). Both are found on PATH; a missing one fails the run with what to install, never a
// skip. On a machine that reaches only the npm registry and Debian's packages, ../shared/aws-emu packages both
// (its README; .ci/run uses it).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { Template } from './cloudformation/template';

const run = promisify(execFile);

const INSTALL_HINTS: Record<string, string> = {
  'cfn-lint': 'pipx install cfn-lint',
  moto_server: 'pip install "moto[server]"',
};

/** The executable `name` on PATH, or an error saying what to install. */
export function requireCommand(name: 'cfn-lint' | 'moto_server'): string {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    const candidate = join(folder, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  throw new Error(
    `${name} is not on PATH: npm run test:aws needs it. Install it with \`${INSTALL_HINTS[name]}\` ` +
      '(without PyPI: `../shared/aws-emu/aws-emu install && export PATH="$(../shared/aws-emu/aws-emu bin):$PATH"`)',
  );
}

/** One finding of cfn-lint, as its JSON output gives it. */
export interface LintFinding {
  rule: string;
  level: 'Error' | 'Warning' | 'Informational';
  message: string;
  /** The JSON path of the finding (Resources/<logical id>/...). */
  path: string;
}

interface CfnLintMatch {
  Rule: { Id: string };
  Level: LintFinding['level'];
  Message: string;
  Location: { Path?: (string | number)[] };
}

/** cfn-lint over a template for a region, informational findings included. */
export async function lintTemplate(template: Template, region: string): Promise<LintFinding[]> {
  const cfnLint = requireCommand('cfn-lint');
  const work = mkdtempSync(join(tmpdir(), 'cloudy-23-lint-'));
  const file = join(work, 'template.json');
  writeFileSync(file, JSON.stringify(template, null, 2));
  try {
    // cfn-lint's exit status is a bit mask of the levels found; the JSON on stdout is what is read.
    const output = await run(
      cfnLint,
      ['--format', 'json', '--include-checks', 'I', '--regions', region, '--', file],
      { maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stdout?: string; stderr?: string; code?: number }) => {
      if (error.code !== undefined && error.code < 32 && error.stdout) return { stdout: error.stdout };
      throw new Error(`cfn-lint failed to run: ${error.stderr ?? error}`);
    });
    return (JSON.parse(output.stdout) as CfnLintMatch[]).map((match) => ({
      rule: match.Rule.Id,
      level: match.Level,
      message: match.Message,
      path: (match.Location.Path ?? []).join('/'),
    }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A moto server started by a test, on 127.0.0.1 only; its log is kept for the test to read. */
export class MotoServer {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: string,
  ) {
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(): Promise<MotoServer> {
    const motoServer = requireCommand('moto_server');
    const port = await freePort();
    const child = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new MotoServer(child, `http://127.0.0.1:${port}`);
    // Python imports take a few seconds on a loaded machine; 60 s bounds a server that never answers.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`moto_server exited at start:\n${server.log}`);
      const ready = await fetch(`${server.endpoint}/moto-api/`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) return server;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await server.stop();
    throw new Error(`moto_server did not answer within 60 s:\n${server.log}`);
  }

  get log(): string {
    return this.output;
  }

  /**
   * The CloudFormation resource types moto did not create ("Tried to parse X but it's not supported"): a deploy
   * that passes in moto says nothing about these.
   */
  skippedResourceTypes(): string[] {
    const found = [...this.output.matchAll(/Tried to parse (\S+) but it's not supported/g)].map(
      (m) => m[1] ?? '',
    );
    return [...new Set(found)].sort();
  }

  /** The environment under which the SDK inside osls talks to this server, with credentials moto accepts. */
  clientEnvironment(region: string): Record<string, string> {
    return {
      AWS_ENDPOINT_URL: this.endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await once(this.child, 'exit');
  }
}
