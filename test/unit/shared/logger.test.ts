import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { createLogger, type LambdaContextLike, withInvocationLogging } from '../../../shared/logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line: string) => lines.push(JSON.parse(line)) } };
}

describe('createLogger', () => {
  it('writes one JSON object per line, naming the service and component', () => {
    // Act
    const { lines, stream } = capture();
    createLogger('web', 'info', stream).info({ requestId: 'r-1' }, 'request');
    // Assess
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.service, 'cloudy');
    assert.equal(lines[0]?.component, 'web');
    assert.equal(lines[0]?.requestId, 'r-1');
    assert.equal(lines[0]?.msg, 'request');
  });

  it('never writes passwords, secrets or connection strings', () => {
    // Act
    const { lines, stream } = capture();
    createLogger('web', 'info', stream).info(
      {
        password: 'p1',
        connection: { password: 'p2', connectionString: 'postgres://u:p3@h/db' },
        config: { DATABASE_URL: 'postgres://u:p4@h/db', secret: 'p5' },
        req: { headers: { authorization: 'Bearer p6' } },
      },
      'settings',
    );
    const text = JSON.stringify(lines);
    // Assess
    for (const secret of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'])
      assert.doesNotMatch(text, new RegExp(`\\b${secret}\\b`));
    assert.match(text, /\[redacted\]/);
  });
});

describe('withInvocationLogging', () => {
  it('puts the request id, cold start and function name on every line of an invocation, across awaits', async () => {
    // Prepare
    const { lines, stream } = capture();
    const logger = createLogger('failover', 'info', stream);
    const handler = withInvocationLogging(async (event: { n: number }, _context: LambdaContextLike) => {
      logger.info('first');
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info({ n: event.n }, 'after an await');
      return event.n;
    });
    // Act
    await handler({ n: 1 }, { awsRequestId: 'req-1', functionName: 'cloudy-dev-databaseFailover' });
    await handler({ n: 2 }, { awsRequestId: 'req-2', functionName: 'cloudy-dev-databaseFailover' });
    logger.info('outside any invocation');
    // Assess
    const fields = lines.map((line) => [
      line.msg,
      line.function_request_id,
      line.cold_start,
      line.function_name,
    ]);
    assert.deepEqual(fields, [
      ['first', 'req-1', true, 'cloudy-dev-databaseFailover'],
      ['after an await', 'req-1', true, 'cloudy-dev-databaseFailover'],
      ['first', 'req-2', false, 'cloudy-dev-databaseFailover'],
      ['after an await', 'req-2', false, 'cloudy-dev-databaseFailover'],
      ['outside any invocation', undefined, undefined, undefined],
    ]);
  });
});

describe('createLogger in Lambda', () => {
  // The environment is frozen (or, here, killed) right after the handler returns: a line still queued for an
  // asynchronous write is lost. Outside Lambda (asynchronous, for the web app's throughput) the same program lost
  // its line in 4 of 6 runs here; a race, so only the Lambda side is asserted.
  const program = `
    import { createLogger } from ${JSON.stringify(new URL('../../../shared/logger.ts', import.meta.url).href)};
    createLogger('api').info('the last line before the freeze');
    process.kill(process.pid, 'SIGKILL');`;
  const run = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
    });

  it('writes each line before the call returns', () => {
    // Act
    const runs = [1, 2, 3].map(() => run({ AWS_LAMBDA_FUNCTION_NAME: 'cloudy-dev-api' }));
    // Assess
    for (const lambda of runs) assert.match(lambda.stdout, /the last line before the freeze/);
  });
});
