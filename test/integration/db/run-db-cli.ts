import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../../..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `npm run db -- ARGS` as an operator runs it (tsx scripts/db/cli.ts), against an EC2 API and a DynamoDB on
 * 127.0.0.1. Every other AWS endpoint is a closed loopback port and instance metadata is off, so nothing can
 * leave the machine.
 */
export function runDbCli(
  args: string[],
  endpoints: { ec2: string; dynamodb: string; leaseTable?: string },
  input = '',
  options: { terminal?: boolean } = {},
): Promise<CliRun> {
  const command = [process.execPath, '--import', 'tsx', resolve(REPO, 'scripts/db/cli.ts'), ...args];
  // util-linux `script` runs the command on a pseudo-terminal (as an operator's shell would), fed from our stdin.
  const [file, ...fileArgs] = options.terminal
    ? ['script', '--quiet', '--return', '--command', command.map((arg) => `'${arg}'`).join(' '), '/dev/null']
    : command;
  return new Promise((done) => {
    const child = execFile(
      file ?? '',
      fileArgs,
      {
        cwd: REPO,
        timeout: 180_000,
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'fixture',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_ENDPOINT_URL_EC2: endpoints.ec2,
          AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
          AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
          ...(endpoints.leaseTable ? { LEASE_TABLE: endpoints.leaseTable } : {}),
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input);
  });
}
