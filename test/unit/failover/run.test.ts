import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateRouteCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  EC2ServiceException,
  type Instance,
  type InstanceStatus,
  ReplaceRouteCommand,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { pino } from 'pino';
import { type FailoverConfig, readFailoverConfig } from '../../../handlers/failover/config';
import { lambdaDeadline } from '../../../handlers/failover/deadline';
import { AwsConfigurationError, RouteVerificationError } from '../../../handlers/failover/errors';
import type { EmfDocument } from '../../../handlers/failover/metrics';
import { type RunDeps, runFailover } from '../../../handlers/failover/run';
import { VIP_ROUTE_VERIFY_WAITS_MS } from '../../../shared/vip-routes';
import { ec2Instance, ec2RouteTable, ec2Status, leaseItem, STAGE, vipRoute } from './sdk-fixtures';

const NOW_MS = Date.parse('2026-03-01T08:00:00Z');
const ec2Mock = mockClient(EC2Client);
const dynamoMock = mockClient(DynamoDBClient);

/** A small EC2 behind the mock: Describe* answer from it one item per page, route changes update it. */
class Ec2World {
  constructor(
    public instances: Instance[],
    public statuses: InstanceStatus[],
    public tables: RouteTable[],
  ) {}

  private static page<T>(items: T[], nextToken: string | undefined): { items: T[]; NextToken?: string } {
    const start = nextToken ? Number(nextToken.replace('page-', '')) : 0;
    const end = start + 1;
    return { items: items.slice(start, end), ...(end < items.length ? { NextToken: `page-${end}` } : {}) };
  }

  install(): void {
    ec2Mock.on(DescribeInstancesCommand).callsFake((input) => {
      const { items, NextToken } = Ec2World.page(this.instances, input.NextToken);
      return {
        Reservations: items.map((instance) => ({
          ReservationId: `r-${instance.InstanceId}`,
          Instances: [instance],
        })),
        NextToken,
      };
    });
    ec2Mock.on(DescribeInstanceStatusCommand).callsFake((input) => ({
      InstanceStatuses: this.statuses.filter((s) => input.InstanceIds?.includes(s.InstanceId ?? '')),
    }));
    ec2Mock.on(DescribeRouteTablesCommand).callsFake((input) => {
      const wanted = input.RouteTableIds
        ? this.tables.filter((t) => input.RouteTableIds.includes(t.RouteTableId))
        : this.tables;
      const { items, NextToken } = Ec2World.page(wanted, input.NextToken);
      return { RouteTables: structuredClone(items), NextToken };
    });
    const setRoute = (input: { RouteTableId?: string; InstanceId?: string }) => {
      const table = this.tables.find((t) => t.RouteTableId === input.RouteTableId);
      if (!table) throw new Error(`no table ${input.RouteTableId}`);
      table.Routes = [
        ...(table.Routes ?? []).filter((r) => r.DestinationCidrBlock !== '10.10.10.10/32'),
        vipRoute(input.InstanceId ?? ''),
      ];
    };
    ec2Mock.on(ReplaceRouteCommand).callsFake((input) => {
      setRoute(input);
      return {};
    });
    ec2Mock.on(CreateRouteCommand).callsFake((input) => {
      setRoute(input);
      return { Return: true };
    });
  }
}

function ec2Error(name: string, httpStatusCode: number, message: string): EC2ServiceException {
  return new EC2ServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode } });
}

/** The two database instances of a healthy stage: A launched first, B the standby. */
function healthyPair(): { instances: Instance[]; statuses: InstanceStatus[] } {
  return {
    instances: [
      ec2Instance('i-0aaa', 'running', '2026-03-01T06:00:00Z'),
      ec2Instance('i-0bbb', 'running', '2026-03-01T07:00:00Z'),
    ],
    statuses: [ec2Status('i-0aaa', 'running', 'ok', 'ok'), ec2Status('i-0bbb', 'running', 'ok', 'ok')],
  };
}

interface Harness {
  deps: RunDeps;
  lines: Record<string, unknown>[];
  summaries: () => Record<string, unknown>[];
  /** The EMF documents the run published, one per run. */
  metrics: () => EmfDocument[];
  messages: () => string[];
  sleeps: number[];
}

function harness(
  overrides: Partial<RunDeps> = {},
  config: FailoverConfig = readFailoverConfig({ STAGE }),
): Harness {
  const lines: Record<string, unknown>[] = [];
  const published: EmfDocument[] = [];
  const sleeps: number[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
  return {
    deps: {
      ec2: new EC2Client({ region: 'eu-west-1', credentials }),
      dynamodb: new DynamoDBClient({ region: 'eu-west-1', credentials }),
      config,
      dryRun: config.dryRun,
      trigger: { kind: 'schedule' },
      deadline: lambdaDeadline(() => 25_000),
      logger,
      now: () => NOW_MS,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      publishMetrics: (document) => {
        published.push(document);
      },
      ...overrides,
    },
    lines,
    summaries: () => lines.filter((line) => line.msg === 'failover run'),
    metrics: () => published,
    messages: () => lines.map((line) => String(line.msg)),
    sleeps,
  };
}

/** A command's input as it goes on the wire (undefined fields are not sent). */
const wire = (input: unknown) => JSON.parse(JSON.stringify(input));

const mutations = () => [
  ...ec2Mock.commandCalls(ReplaceRouteCommand),
  ...ec2Mock.commandCalls(CreateRouteCommand),
];

describe('runFailover against the EC2 and DynamoDB APIs', () => {
  beforeEach(() => {
    ec2Mock.reset();
    dynamoMock.reset();
  });

  it('in sync: reads every page, sends no route change, says "already pointing"', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [
      ec2RouteTable('rtb-0111', vipRoute('i-0bbb')),
      ec2RouteTable('rtb-0222', vipRoute('i-0bbb')),
    ]).install();
    const h = harness();

    // Act
    const report = await runFailover(h.deps);

    // Assess
    assert.equal(report.result, 'in-sync');
    assert.equal(mutations().length, 0);
    assert.equal(ec2Mock.commandCalls(DescribeInstancesCommand).length, 2, 'two pages of instances');
    assert.equal(ec2Mock.commandCalls(DescribeRouteTablesCommand).length, 2, 'two pages of route tables');
    const filters = ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters;
    assert.deepEqual(filters, [
      { Name: 'tag:database', Values: ['true'] },
      { Name: 'tag:cloudy:stage', Values: [STAGE] },
    ]);
    const statusInput = ec2Mock.commandCalls(DescribeInstanceStatusCommand)[0]?.args[0].input;
    assert.deepEqual(wire(statusInput), { InstanceIds: ['i-0aaa', 'i-0bbb'], IncludeAllInstances: true });
    assert.ok(h.messages().includes('Route on rtb-0111 already pointing to 10.10.10.10/32 via i-0bbb'));
    assert.equal(h.summaries().length, 1);
  });

  it('target stopped: sends exactly one ReplaceRoute, re-reads the route and logs "Updated route"', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    instances[1] = ec2Instance('i-0bbb', 'stopped', '2026-03-01T07:00:00Z');
    statuses[1] = ec2Status('i-0bbb', 'stopped', 'not-applicable', 'not-applicable');
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', vipRoute('i-0bbb'))]).install();
    const h = harness();

    // Act
    const report = await runFailover(h.deps);

    // Assess
    assert.equal(report.result, 'changed');
    assert.deepEqual(
      ec2Mock.commandCalls(ReplaceRouteCommand).map((call) => call.args[0].input),
      [{ RouteTableId: 'rtb-0111', DestinationCidrBlock: '10.10.10.10/32', InstanceId: 'i-0aaa' }],
    );
    assert.equal(ec2Mock.commandCalls(CreateRouteCommand).length, 0);
    const reread = ec2Mock.commandCalls(DescribeRouteTablesCommand).at(-1)?.args[0].input;
    assert.deepEqual(wire(reread), { RouteTableIds: ['rtb-0111'] });
    assert.ok(
      h.messages().some((m) => m.startsWith('Updated route on rtb-0111 to 10.10.10.10/32 via i-0aaa')),
    );
    assert.equal(h.metrics()[0]?.RouteChanges, 1);
  });

  it('runs twice: the second run changes nothing', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [
      ec2RouteTable('rtb-0111', vipRoute('i-0dead', 'blackhole')),
    ]).install();

    // Act
    const first = await runFailover(harness().deps);
    const second = await runFailover(harness().deps);

    // Assess
    assert.equal(first.result, 'changed');
    assert.equal(second.result, 'in-sync');
    assert.equal(mutations().length, 1);
  });

  it('route missing: sends CreateRoute to the longest-running healthy candidate', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', undefined)]).install();

    // Act
    await runFailover(harness().deps);

    // Assess
    assert.deepEqual(
      ec2Mock.commandCalls(CreateRouteCommand).map((call) => call.args[0].input),
      [{ RouteTableId: 'rtb-0111', DestinationCidrBlock: '10.10.10.10/32', InstanceId: 'i-0aaa' }],
    );
  });

  it('dry run: the same decision is logged and no route change is sent', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    statuses[1] = ec2Status('i-0bbb', 'running', 'impaired', 'ok');
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', vipRoute('i-0bbb'))]).install();
    const dry = harness({ dryRun: true });

    // Act
    const report = await runFailover(dry.deps);
    const real = harness();
    ec2Mock.resetHistory();
    await runFailover(real.deps);

    // Assess
    assert.equal(report.result, 'dry-run');
    assert.deepEqual(dry.summaries()[0]?.decision, real.summaries()[0]?.decision);
    assert.equal(dry.metrics()[0]?.RouteChanges, 0);
    assert.ok(dry.messages().some((m) => m.startsWith('Dry run: would have updated route on rtb-0111')));
    assert.equal(mutations().length, 1, 'only the real run changed the route');
  });

  it('reads the lease consistently and routes to its holder', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', vipRoute('i-0aaa'))]).install();
    dynamoMock.on(GetItemCommand).resolves({ Item: leaseItem('i-0bbb', NOW_MS) });
    const h = harness({}, readFailoverConfig({ STAGE, LEASE_TABLE: 'cloudy-prod-lease' }));

    // Act
    await runFailover(h.deps);

    // Assess
    assert.deepEqual(dynamoMock.commandCalls(GetItemCommand)[0]?.args[0].input, {
      TableName: 'cloudy-prod-lease',
      Key: { lockName: { S: 'database-primary' } },
      ConsistentRead: true,
    });
    assert.deepEqual(
      ec2Mock.commandCalls(ReplaceRouteCommand).map((call) => call.args[0].input.InstanceId),
      ['i-0bbb'],
    );
  });

  it('asks for status checks in batches of 100 instance ids', async () => {
    // Prepare
    const instances = Array.from({ length: 150 }, (_, n) =>
      ec2Instance(`i-${String(n).padStart(4, '0')}`, 'running', '2026-03-01T06:00:00Z'),
    );
    new Ec2World(instances, [], [ec2RouteTable('rtb-0111', vipRoute('i-0000'))]).install();

    // Act
    await runFailover(harness().deps);

    // Assess
    const batches = ec2Mock
      .commandCalls(DescribeInstanceStatusCommand)
      .map((c) => c.args[0].input.InstanceIds?.length);
    assert.deepEqual(batches, [100, 50]);
    assert.equal(mutations().length, 0, 'no status = unknown = never acted upon');
  });

  it('no healthy candidate: no route change, the metric says so', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    statuses[0] = ec2Status('i-0aaa', 'running', 'impaired', 'ok');
    statuses[1] = ec2Status('i-0bbb', 'running', 'initializing', 'initializing');
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', vipRoute('i-0aaa'))]).install();
    const h = harness();

    // Act
    const report = await runFailover(h.deps);

    // Assess
    assert.equal(report.result, 'held');
    assert.equal(mutations().length, 0);
    assert.equal(h.metrics()[0]?.NoHealthyCandidate, 1);
    assert.equal(h.summaries()[0]?.level, 40, 'logged as a warning');
  });

  it('throttled while observing: a transient error, no change, no throw, the next run retries', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', undefined)]).install();
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejects(ec2Error('RequestLimitExceeded', 503, 'Request limit exceeded.'));
    const h = harness();

    // Act
    const report = await runFailover(h.deps);

    // Assess
    assert.equal(report.result, 'transient-error');
    assert.equal(mutations().length, 0);
    assert.equal(h.metrics()[0]?.TransientErrors, 1);
    assert.match(String(h.summaries()[0]?.reason), /DescribeInstances failed with RequestLimitExceeded/);
  });

  it('throttled on one route table: the other is still changed', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [
      ec2RouteTable('rtb-0111', undefined),
      ec2RouteTable('rtb-0222', undefined),
    ]).install();
    ec2Mock
      .on(CreateRouteCommand, { RouteTableId: 'rtb-0111' })
      .rejects(ec2Error('RequestLimitExceeded', 503, 'Request limit exceeded.'));
    const h = harness();

    // Act
    const report = await runFailover(h.deps);

    // Assess
    assert.equal(report.result, 'transient-error');
    assert.deepEqual(
      report.actions.map((a) => [a.routeTableId, a.status]),
      [
        ['rtb-0111', 'failed-transient'],
        ['rtb-0222', 'applied'],
      ],
    );
  });

  it('AccessDenied on one route table: the other is still changed and verified, then the run fails loudly', async () => {
    // Prepare: rtb-0111 lacks the stage tag in IAM's eyes; rtb-0222 is fine.
    const { instances, statuses } = healthyPair();
    statuses[0] = ec2Status('i-0aaa', 'running', 'ok', 'impaired');
    new Ec2World(instances, statuses, [
      ec2RouteTable('rtb-0111', vipRoute('i-0aaa')),
      ec2RouteTable('rtb-0222', vipRoute('i-0aaa')),
    ]).install();
    ec2Mock
      .on(ReplaceRouteCommand, { RouteTableId: 'rtb-0111' })
      .rejects(ec2Error('UnauthorizedOperation', 403, 'You are not authorized to perform this operation.'));
    const h = harness();

    // Act + Assess
    await assert.rejects(runFailover(h.deps), (error) => {
      assert.ok(error instanceof AwsConfigurationError);
      assert.equal(error.code, 'UnauthorizedOperation');
      assert.ok(error.cause instanceof EC2ServiceException);
      return true;
    });
    const [summary] = h.summaries();
    assert.ok(summary);
    assert.equal(summary.result, 'failed');
    assert.equal(summary.level, 50, 'logged as an error');
    assert.equal(h.metrics()[0]?.RouteChanges, 1);
    assert.deepEqual(
      (summary.actions as { routeTableId: string; status: string }[]).map((a) => [a.routeTableId, a.status]),
      [
        ['rtb-0111', 'failed-configuration'],
        ['rtb-0222', 'applied'],
      ],
    );
    assert.ok(
      h.messages().some((m) => m.startsWith('Updated route on rtb-0222 to 10.10.10.10/32 via i-0bbb')),
    );
  });

  it('AccessDenied on the lease read: a configuration error', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', vipRoute('i-0aaa'))]).install();
    dynamoMock
      .on(GetItemCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const h = harness({}, readFailoverConfig({ STAGE, LEASE_TABLE: 'cloudy-prod-lease' }));

    // Act / Assess
    await assert.rejects(runFailover(h.deps), AwsConfigurationError);
    assert.equal(mutations().length, 0);
  });

  it('near the deadline: starts no AWS call at all', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', undefined)]).install();
    const h = harness({ deadline: lambdaDeadline(() => 3_000) });

    // Act
    const report = await runFailover(h.deps);

    // Assess
    assert.equal(report.result, 'deadline');
    assert.equal(ec2Mock.calls().length, 0);
  });

  it('deadline reached after observing: the route change is not started', async () => {
    // Prepare: plenty of time for the reads, then the clock runs out.
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', undefined)]).install();
    let remaining = 22_000;
    const h = harness({
      deadline: lambdaDeadline(() => {
        remaining -= 2_000;
        return remaining;
      }),
    });

    // Act
    const report = await runFailover(h.deps);

    // Assess
    assert.equal(report.result, 'deadline');
    assert.deepEqual(
      report.actions.map((a) => a.status),
      ['skipped-deadline'],
    );
    assert.equal(mutations().length, 0);
  });

  it('the route does not show the change: retries the read, then fails loudly', async () => {
    // Prepare: ReplaceRoute "succeeds" but the route table keeps its old target.
    const { instances, statuses } = healthyPair();
    statuses[1] = ec2Status('i-0bbb', 'running', 'impaired', 'ok');
    new Ec2World(instances, statuses, [ec2RouteTable('rtb-0111', vipRoute('i-0bbb'))]).install();
    ec2Mock.on(ReplaceRouteCommand).resolves({});
    const h = harness();

    // Act + Assess
    await assert.rejects(runFailover(h.deps), RouteVerificationError);
    assert.deepEqual(h.sleeps, [...VIP_ROUTE_VERIFY_WAITS_MS]);
    assert.equal(h.summaries()[0]?.result, 'failed');
  });

  it('emits one summary line (the observation, the decision and its reason) and the EMF metrics on a line of their own', async () => {
    // Prepare
    const { instances, statuses } = healthyPair();
    new Ec2World(instances, statuses, [
      ec2RouteTable('rtb-0111', vipRoute('i-0gone', 'blackhole')),
    ]).install();
    const h = harness();

    // Act
    await runFailover(h.deps);

    // Assess
    const [summary, ...others] = h.summaries();
    const [metrics, ...moreMetrics] = h.metrics();
    assert.ok(summary && metrics);
    assert.equal(others.length, 0);
    assert.equal(moreMetrics.length, 0);
    assert.equal(summary._aws, undefined, 'the metrics do not ride on the summary line');
    assert.deepEqual(metrics._aws, {
      Timestamp: NOW_MS,
      CloudWatchMetrics: [
        {
          Namespace: 'cloudy/failover',
          Dimensions: [['Stage']],
          Metrics: [
            { Name: 'RouteChanges', Unit: 'Count' },
            { Name: 'NoHealthyCandidate', Unit: 'Count' },
            { Name: 'TransientErrors', Unit: 'Count' },
          ],
        },
      ],
    });
    assert.equal(metrics.Stage, STAGE);
    assert.equal(metrics.RouteChanges, 1);
    assert.deepEqual(summary.trigger, { kind: 'schedule' });
    assert.match(String(summary.reason), /rtb-0111 replace: the route is a blackhole/);
    assert.deepEqual((summary.decision as { actions: string[] }).actions, [
      'replace-route rtb-0111 10.10.10.10/32 -> i-0aaa',
    ]);
    const observation = summary.observation as {
      routeTables: unknown[];
      instances: unknown[];
      lease: unknown;
    };
    assert.deepEqual(observation.routeTables, [
      { id: 'rtb-0111', inStage: true, route: { state: 'blackhole', target: 'i-0gone' } },
    ]);
    assert.equal(observation.instances.length, 2);
    assert.equal(observation.lease, 'disabled');
  });
});
