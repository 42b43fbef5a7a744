import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Template } from './template';

const run = promisify(execFile);
const repositoryRoot = resolve(import.meta.dirname, '../../..');
/** Not part of the service: dependencies, build output, local data, and folders `sls package` never reads. */
const NOT_SERVICE = new Set([
  'node_modules',
  '.git',
  '.serverless',
  '.esbuild',
  '.data',
  'dist',
  'loadtest',
  'test',
  'docs',
]);

interface PackageRequest {
  stage: string;
  /** Stage parameters given on the command line (`--param name=value`). */
  params?: Record<string, string>;
  /** `--region`; serverless.yml's default (eu-west-1) when absent. */
  region?: string;
}

/** The environment minus every AWS credential and config, with an empty HOME: packaging must not need them. */
function withoutAws(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_')) env[key] = value;
  }
  return {
    ...env,
    HOME: home,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    npm_config_update_notifier: 'false',
  };
}

/** One file in a packaged function's zip. */
export interface ZipEntry {
  name: string;
  /** Bytes once unpacked. */
  size: number;
}

/** What `sls package` wrote: the template, and each zip (by file name) with its size and its entries. */
export interface PackagedStage {
  template: Template;
  zips: Record<string, { bytes: number; entries: ZipEntry[] }>;
}

/** The entries of a zip file, read from its central directory (PKWARE APPNOTE 4.3.12, 4.3.16). */
export function listZip(zip: Buffer): ZipEntry[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a zip file: no end of central directory record');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip central directory entry ${i} is damaged`);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
      size: zip.readUInt32LE(at + 24),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** What one `sls` command printed. */
export interface ServerlessOutput {
  stdout: string;
  stderr: string;
}

export class ServerlessCommandError extends Error {
  constructor(
    message: string,
    readonly output: ServerlessOutput,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ServerlessCommandError';
  }
}

/**
 * A private copy of the service in a temporary folder (node_modules linked): serverless-esbuild's .esbuild/ work
 * folder must not be shared with another test running the CLI in the repository at the same time. Removed after
 * `use` settles.
 */
export async function withServiceCopy<T>(use: (service: string, work: string) => Promise<T>): Promise<T> {
  const work = mkdtempSync(join(tmpdir(), 'cloudy-package-'));
  const service = join(work, 'service');
  for (const entry of readdirSync(repositoryRoot)) {
    if (!NOT_SERVICE.has(entry))
      cpSync(join(repositoryRoot, entry), join(service, entry), { recursive: true });
  }
  symlinkSync(join(repositoryRoot, 'node_modules'), join(service, 'node_modules'));
  try {
    return await use(service, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `--stage`, `--region` and one `--param name=value` per stage parameter. */
export function stageArguments(request: PackageRequest): string[] {
  return [
    '--stage',
    request.stage,
    ...(request.region === undefined ? [] : ['--region', request.region]),
    ...Object.entries(request.params ?? {}).flatMap(([name, value]) => ['--param', `${name}=${value}`]),
  ];
}

/**
 * Runs the project's own `sls` with `args` in `service`, under `timeout` (serverless-esbuild hangs instead of
 * exiting when esbuild fails). `env` is added to an environment without any AWS_* variable and with HOME in
 * `work`. Rejects with a ServerlessCommandError carrying what the command printed.
 */
export async function runServerless(
  service: string,
  work: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutSeconds = 300,
): Promise<ServerlessOutput> {
  try {
    const { stdout, stderr } = await run(
      'timeout',
      [String(timeoutSeconds), join(repositoryRoot, 'node_modules/.bin/sls'), ...args],
      { cwd: service, env: { ...withoutAws(join(work, 'home')), ...env }, maxBuffer: 16 * 1024 * 1024 },
    );
    return { stdout, stderr };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new ServerlessCommandError(
      `sls ${args.join(' ')} failed:\n${stdout}\n${stderr}`,
      { stdout, stderr },
      {
        cause: error,
      },
    );
  }
}

/**
 * Runs `sls package` for a stage into a temporary folder, offline and without AWS credentials, and returns
 * the CloudFormation template it wrote.
 */
export async function packageTemplate(request: PackageRequest): Promise<Template> {
  return (await packageStage(request)).template;
}

/** `sls package` as packageTemplate runs it, keeping what it says about the functions' zips too. */
export async function packageStage(request: PackageRequest): Promise<PackagedStage> {
  return withServiceCopy(async (service, work) => {
    const output = join(work, 'out');
    await runServerless(service, work, ['package', ...stageArguments(request), '--package', output]);
    const zips: PackagedStage['zips'] = {};
    for (const file of readdirSync(output).filter((name) => name.endsWith('.zip'))) {
      const zip = readFileSync(join(output, file));
      zips[file] = { bytes: zip.length, entries: listZip(zip) };
    }
    const template = JSON.parse(
      readFileSync(join(output, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as Template;
    return { template, zips };
  });
}
