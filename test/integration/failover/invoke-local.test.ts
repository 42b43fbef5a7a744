// End to end through the real CLI: `sls invoke local -f databaseFailover` bundles the handler with esbuild, loads
// serverless.yml's environment and runs it against an EC2 Query API fixture and a DynamoDB (dynalite) lease table,
// both on 127.0.0.1. Every other AWS endpoint is pointed at a closed loopback port, and instance metadata is off,
// so nothing can leave the machine.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type Ec2FixtureServer,
  type FixtureInstance,
  startEc2FixtureServer,
} from '../../support/ec2-api-server';
import { type LeaseFixture, startLeaseFixture } from './lease-fixture';
import { privateServiceCopy } from './private-service';

const STAGE = 'e2e';

const tags = (stage: string) => ({
  database: 'true',
  'cloudy:stage': stage,
  Name: `cloudy-${stage}-database`,
});
function instance(
  instanceId: string,
  state: FixtureInstance['state'],
  launchTime: string,
  stage = STAGE,
): FixtureInstance {
  const checks = state === 'running' ? 'ok' : 'not-applicable';
  return { instanceId, state, instanceCheck: checks, systemCheck: checks, launchTime, tags: tags(stage) };
}

/**
 * The stage after its primary stopped: i-0ccc (stopped) still has the public route table's route, the standby
 * i-0bbb took the lease and the private route table; i-0aaa is older (the lease-less rule would pick it); i-0fff
 * and its route table belong to another stage.
 */
function strandedWorld() {
  return {
    instances: [
      instance('i-0aaa', 'running', '2026-03-01T05:00:00.000Z'),
      instance('i-0bbb', 'running', '2026-03-01T06:00:00.000Z'),
      instance('i-0ccc', 'stopped', '2026-03-01T04:00:00.000Z'),
      instance('i-0fff', 'running', '2026-01-01T00:00:00.000Z', 'other'),
    ],
    routeTables: [
      {
        routeTableId: 'rtb-0pub',
        tags: tags(STAGE),
        routes: [
          { destinationCidrBlock: '10.0.0.0/16', gatewayId: 'local', state: 'active' as const },
          { destinationCidrBlock: '10.10.10.10/32', instanceId: 'i-0ccc', state: 'blackhole' as const },
        ],
      },
      {
        routeTableId: 'rtb-0priv',
        tags: tags(STAGE),
        routes: [{ destinationCidrBlock: '10.10.10.10/32', instanceId: 'i-0bbb', state: 'active' as const }],
      },
      {
        routeTableId: 'rtb-0other',
        tags: tags('other'),
        routes: [
          { destinationCidrBlock: '10.10.10.10/32', instanceId: 'i-0ccc', state: 'blackhole' as const },
        ],
      },
    ],
  };
}

interface Invocation {
  code: number;
  logs: Record<string, unknown>[];
  messages: string[];
  summary: Record<string, unknown>;
  metrics: Record<string, unknown>;
  stdout: string;
}

describe('sls invoke local -f databaseFailover', () => {
  let service: ReturnType<typeof privateServiceCopy>;
  let ec2: Ec2FixtureServer;
  let lease: LeaseFixture;

  before(() => {
    service = privateServiceCopy();
  });

  after(() => service.remove());

  async function startFixtures(): Promise<void> {
    ec2 = await startEc2FixtureServer(strandedWorld());
    lease = await startLeaseFixture(`cloudy-${STAGE}-lease`, 'i-0bbb', Date.now());
  }

  async function stopFixtures(): Promise<void> {
    await ec2.close();
    await lease.close();
  }

  async function invoke(data: object): Promise<Invocation> {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_EC2: ec2.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: lease.endpoint,
      // Any other AWS service the run might reach: a closed port on loopback.
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'info',
    };
    const args = ['180', 'npx', 'sls', 'invoke', 'local', '-f', 'databaseFailover', '--stage', STAGE];
    let stdout: string;
    let code = 0;
    try {
      ({ stdout } = await promisify(execFile)('timeout', [...args, '--data', JSON.stringify(data)], {
        cwd: service.dir,
        env,
        maxBuffer: 16 * 1024 * 1024,
      }));
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      code = failed.code ?? -1;
      stdout = `${failed.stdout ?? ''}\n${failed.stderr ?? ''}`;
    }
    const logs = stdout
      .split('\n')
      .filter((line) => line.startsWith('{"level"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const summaries = logs.filter((line) => line.msg === 'failover run');
    assert.equal(summaries.length, 1, `exactly one summary line in:\n${stdout}`);
    const metrics = stdout
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(metrics.length, 1, `exactly one metrics line in:\n${stdout}`);
    return {
      code,
      logs,
      messages: logs.map((l) => String(l.msg)),
      summary: summaries[0] ?? {},
      metrics: metrics[0] ?? {},
      stdout,
    };
  }

  it('dry run: observes through every page and the lease, prints the decision, changes nothing', async () => {
    // Prepare
    await startFixtures();
    try {
      // Act
      const run = await invoke({ dryRun: true });

      // Assess
      assert.equal(run.code, 0, run.stdout);
      assert.deepEqual(ec2.mutations(), []);
      assert.equal(run.summary.result, 'dry-run');
      assert.equal(run.summary.dryRun, true);
      assert.deepEqual((run.summary.decision as { actions: string[] }).actions, [
        'replace-route rtb-0pub 10.10.10.10/32 -> i-0bbb',
      ]);
      assert.match(String(run.summary.reason), /lease holder i-0bbb is primary/);
      assert.ok(run.messages.includes('Route on rtb-0priv already pointing to 10.10.10.10/32 via i-0bbb'));
      assert.ok(
        run.messages.some((m) =>
          m.startsWith('Dry run: would have updated route on rtb-0pub to 10.10.10.10/32 via i-0bbb'),
        ),
      );
      const describes = ec2.requests.filter((r) => r.action === 'DescribeInstances');
      assert.ok(describes.length >= 3, 'followed nextToken through the pages');
      assert.equal(describes[0]?.params['Filter.2.Value.1'], STAGE);
      assert.deepEqual(lease.operations, ['DynamoDB_20120810.GetItem']);
    } finally {
      await stopFixtures();
    }
  });

  it('real run: one ReplaceRoute to the lease holder, verified; a second run changes nothing', async () => {
    // Prepare
    await startFixtures();
    try {
      // Act
      const first = await invoke({});
      const second = await invoke({});

      // Assess
      assert.equal(first.code, 0, first.stdout);
      assert.deepEqual(
        ec2.mutations().map((m) => ({ action: m.action, ...m.params })),
        [
          {
            action: 'ReplaceRoute',
            Action: 'ReplaceRoute',
            Version: '2016-11-15',
            RouteTableId: 'rtb-0pub',
            DestinationCidrBlock: '10.10.10.10/32',
            InstanceId: 'i-0bbb',
          },
        ],
      );
      assert.equal(first.summary.result, 'changed');
      assert.equal(first.metrics.RouteChanges, 1);
      assert.equal(first.summary.RouteChanges, undefined, 'the metrics are not on the summary line');
      // Every line of the invocation names it, as Powertools' lines do.
      for (const line of first.logs) {
        assert.equal(typeof line.function_request_id, 'string', JSON.stringify(line));
        assert.equal(line.cold_start, true);
        assert.equal(line.function_name, `cloudy-${STAGE}-databaseFailover`);
      }
      assert.ok(
        first.messages.some((m) => m.startsWith('Updated route on rtb-0pub to 10.10.10.10/32 via i-0bbb')),
      );
      const replaced = ec2.requests.findIndex((r) => r.action === 'ReplaceRoute');
      assert.ok(
        ec2.requests
          .slice(replaced)
          .some((r) => r.action === 'DescribeRouteTables' && r.params['RouteTableId.1'] === 'rtb-0pub'),
        're-read the route after changing it',
      );
      assert.equal(second.code, 0, second.stdout);
      assert.equal(second.summary.result, 'in-sync');
      assert.ok(second.messages.includes('Route on rtb-0pub already pointing to 10.10.10.10/32 via i-0bbb'));
      const other = ec2.routeTables.find((t) => t.routeTableId === 'rtb-0other');
      assert.equal(other?.routes[0]?.instanceId, 'i-0ccc', "another stage's route table is untouched");
    } finally {
      await stopFixtures();
    }
  });
});
