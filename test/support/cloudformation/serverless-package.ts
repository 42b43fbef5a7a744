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

/**
 * Runs `sls package` for a stage into a temporary folder, offline and without AWS credentials, and returns
 * the CloudFormation template it wrote.
 */
export async function packageTemplate(request: PackageRequest): Promise<Template> {
  const work = mkdtempSync(join(tmpdir(), 'cloudy-package-'));
  const output = join(work, 'out');
  // A private copy of the service: serverless-esbuild's .esbuild/ work folder must not be shared with another
  // test running the CLI in the repository at the same time.
  const service = join(work, 'service');
  for (const entry of readdirSync(repositoryRoot)) {
    if (!NOT_SERVICE.has(entry))
      cpSync(join(repositoryRoot, entry), join(service, entry), { recursive: true });
  }
  symlinkSync(join(repositoryRoot, 'node_modules'), join(service, 'node_modules'));
  const params = Object.entries(request.params ?? {}).flatMap(([name, value]) => [
    '--param',
    `${name}=${value}`,
  ]);
  try {
    // `timeout` because serverless-esbuild hangs instead of exiting when esbuild fails.
    await run(
      'timeout',
      [
        '300',
        join(repositoryRoot, 'node_modules/.bin/sls'),
        'package',
        '--stage',
        request.stage,
        ...params,
        '--package',
        output,
      ],
      { cwd: service, env: withoutAws(join(work, 'home')), maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: unknown) => {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`sls package --stage ${request.stage} failed:\n${stdout}\n${stderr}`, { cause: error });
    });
    return JSON.parse(
      readFileSync(join(output, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as Template;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
