// `npm run db -- status` and the refusals of `npm run db -- switchover`, through the real CLI against the emulated
// EC2 API and a dynalite lease table on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AttributeValue, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { readFailoverConfig } from '../../../handlers/failover/config';
import type { StatusReport } from '../../../scripts/db/status-report';
import { switchover } from '../../../scripts/db/switchover';
import { LEASE_NAME, standbyHeartbeatKey } from '../../../shared/lease-table/lease-item';
import { type LeaseStoreServer, startLeaseStoreServer } from '../../chaos/lease-store-server';
import {
  type Ec2FixtureServer,
  type FixtureInstance,
  startEc2FixtureServer,
} from '../../support/ec2-api-server';
import { runDbCli } from './run-db-cli';

const STAGE = 'ops';
const NOW = Date.now();
const tags = (stage: string) => ({ database: 'true', 'cloudy:stage': stage });

function instance(instanceId: string, state: FixtureInstance['state'], check: string, stage = STAGE) {
  return {
    instanceId,
    state,
    instanceCheck: check,
    systemCheck: check,
    launchTime: '2026-12-01T00:00:00.000Z',
    tags: tags(stage),
  };
}

/** i-0aaa is primary; i-0bbb a healthy standby; i-0ccc stopped (fenced earlier); i-0fff belongs to another stage. */
function world(standbyCheck = 'ok') {
  return {
    instances: [
      instance('i-0aaa', 'running', 'ok'),
      instance('i-0bbb', 'running', standbyCheck),
      instance('i-0ccc', 'stopped', 'not-applicable'),
      instance('i-0fff', 'running', 'ok', 'other'),
    ],
    routeTables: [
      {
        routeTableId: 'rtb-0priv',
        tags: tags(STAGE),
        routes: [{ destinationCidrBlock: '10.10.10.10/32', instanceId: 'i-0aaa', state: 'active' as const }],
      },
      {
        routeTableId: 'rtb-0pub',
        tags: tags(STAGE),
        routes: [
          { destinationCidrBlock: '10.10.10.10/32', instanceId: 'i-0ccc', state: 'blackhole' as const },
        ],
      },
    ],
  };
}

const takeovers = [
  { holderId: 'i-0ccc', fencingToken: 6, reason: 'expired', fenced: 'holder', acquiredAtMs: NOW - 7_200_000 },
  {
    holderId: 'i-0aaa',
    fencingToken: 7,
    reason: 'handover',
    fenced: 'none',
    previousHolderId: 'i-0ccc',
    acquiredAtMs: NOW - 3_600_000,
    previousWritesStoppedAtMs: NOW - 3_600_400,
    primarySinceMs: NOW - 3_599_200,
  },
];

function leaseItem(extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> {
  return {
    holderId: { S: 'i-0aaa' },
    fencingToken: { N: '7' },
    expiresAtMs: { N: String(NOW + 30 * 60_000) },
    primarySinceMs: { N: String(NOW - 3_599_200) },
    postgresAnswering: { BOOL: true },
    takeovers: { S: JSON.stringify(takeovers) },
    ...extra,
  };
}

describe('npm run db', () => {
  let ec2: Ec2FixtureServer;
  let store: LeaseStoreServer;
  const endpoints = () => ({ ec2: ec2.endpoint, dynamodb: store.endpoint });

  before(async () => {
    ec2 = await startEc2FixtureServer(world());
    store = await startLeaseStoreServer({ table: `cloudy-${STAGE}-lease` });
    // i-0bbb's sidecar has read the lease as leaseItem() has it (shared/lease-table/standby-heartbeat.ts).
    await writeHeartbeat('i-0bbb', NOW + 30 * 60_000);
  });

  async function writeHeartbeat(instanceId: string, seenLeaseExpiresAtMs: number): Promise<void> {
    const client = store.client({ region: 'eu-west-1' });
    try {
      await client.send(
        new PutItemCommand({
          TableName: `cloudy-${STAGE}-lease`,
          Item: {
            lockName: { S: standbyHeartbeatKey(LEASE_NAME, instanceId) },
            seenLeaseExpiresAtMs: { N: String(seenLeaseExpiresAtMs) },
          },
        }),
      );
    } finally {
      client.destroy();
    }
  }

  after(async () => {
    await ec2.close();
    await store.close();
  });

  describe('status', () => {
    it('--json: each instance, the lease, each route table, the controller decision and the takeovers', async () => {
      // Prepare
      await store.putRawLease(leaseItem());
      // Act
      const run = await runDbCli(['status', '--stage', STAGE, '--json'], endpoints());
      // Assess
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as StatusReport;
      assert.ok(report.lease && report.lease.expiresInMs > 25 * 60_000);
      assert.deepEqual(
        { ...report, observedAt: 'T', lease: { ...report.lease, expiresInMs: 0 } },
        {
          stage: STAGE,
          observedAt: 'T',
          virtualIp: '10.10.10.10',
          instances: [
            {
              instanceId: 'i-0aaa',
              availabilityZone: 'eu-west-1a',
              state: 'running',
              instanceStatus: 'ok',
              systemStatus: 'ok',
              health: 'healthy',
              leaseHolder: true,
              postgres: 'answering',
            },
            {
              instanceId: 'i-0bbb',
              availabilityZone: 'eu-west-1a',
              state: 'running',
              instanceStatus: 'ok',
              systemStatus: 'ok',
              health: 'healthy',
              leaseHolder: false,
              postgres: 'not running',
            },
            {
              instanceId: 'i-0ccc',
              availabilityZone: 'eu-west-1a',
              state: 'stopped',
              instanceStatus: 'not-applicable',
              systemStatus: 'not-applicable',
              health: 'down',
              leaseHolder: false,
              postgres: 'not running',
            },
          ],
          lease: {
            holder: 'i-0aaa',
            fencingToken: 7,
            expiresInMs: 0,
            released: false,
            primarySince: new Date(NOW - 3_599_200).toISOString(),
            handoverRequest: null,
            handedOverTo: null,
          },
          routeTables: [
            {
              routeTableId: 'rtb-0priv',
              target: 'i-0aaa',
              inSync: true,
              verdict: 'in-sync',
              reason: 'lease holder i-0aaa is primary',
            },
            {
              routeTableId: 'rtb-0pub',
              target: 'i-0ccc',
              inSync: false,
              verdict: 'replace',
              reason: 'the route is a blackhole (its target i-0ccc is gone)',
            },
          ],
          controller: {
            outcome: 'change',
            target: 'i-0aaa',
            reason:
              'target i-0aaa (lease holder i-0aaa is primary); rtb-0pub replace: the route is a blackhole (its target i-0ccc is gone)',
          },
          takeovers: [
            {
              at: new Date(NOW - 3_600_000).toISOString(),
              holder: 'i-0aaa',
              fencingToken: 7,
              reason: 'handover',
              fenced: 'none',
              previousHolder: 'i-0ccc',
              primaryAfterMs: 800,
              writeOutageMs: 1_200,
            },
            {
              at: new Date(NOW - 7_200_000).toISOString(),
              holder: 'i-0ccc',
              fencingToken: 6,
              reason: 'expired',
              fenced: 'holder',
              previousHolder: null,
              primaryAfterMs: null,
              writeOutageMs: null,
            },
          ],
        },
      );
      // Read only: no EC2 call that changes anything, and the lease as it was.
      assert.deepEqual(ec2.mutations(), []);
      assert.equal((await store.readLease())?.handover, undefined);
    });

    it('prints the same facts as one screen', async () => {
      // Prepare
      await store.putRawLease(leaseItem());
      // Act
      const run = await runDbCli(['status', '--stage', STAGE], endpoints());
      // Assess
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.split('\n');
      assert.match(lines[0] ?? '', /^Stage ops, observed at \d{4}-/);
      assert.ok(
        lines.some((l) =>
          /^ {2}i-0aaa\s+eu-west-1a\s+running\s+ok\/ok\s+healthy\s+holder\s+answering$/.test(l),
        ),
      );
      assert.ok(
        lines.some((l) => /^ {2}i-0bbb\s+eu-west-1a\s+running\s+ok\/ok\s+healthy\s+-\s+not running$/.test(l)),
      );
      assert.ok(
        lines.some((l) => /^ {2}holder i-0aaa, fencing token 7, expires in [\d.]+ s, primary since /.test(l)),
      );
      assert.ok(lines.some((l) => /^ {2}rtb-0priv\s+→ i-0aaa\s+in sync$/.test(l)));
      assert.ok(
        lines.some((l) =>
          /^ {2}rtb-0pub\s+→ i-0ccc\s+NOT in sync \(replace\): the route is a blackhole/.test(l),
        ),
      );
      assert.ok(lines.includes('Failover controller (dry run): change'));
      assert.ok(
        lines.some((l) =>
          /i-0aaa \(token 7\): handover from i-0ccc, no fencing, primary 0.80 s later, write outage 1.20 s$/.test(
            l,
          ),
        ),
      );
    });

    it('says so plainly when no sidecar has taken the lease yet', async () => {
      // Prepare
      await store.deleteLease();
      // Act
      const run = await runDbCli(['status', '--stage', STAGE], endpoints());
      // Assess
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /Lease\n {2}none: no sidecar has taken the lease yet/);
      assert.match(
        run.stdout,
        /Failover controller \(dry run\): hold\n.*the lease table names no primary yet/,
      );
    });

    it('rejects a missing or malformed stage with a usage error and no stack trace', async () => {
      // Act
      const missing = await runDbCli(['status'], endpoints());
      const malformed = await runDbCli(['status', '--stage', 'no/such'], endpoints());
      const unknown = await runDbCli(['restart', '--stage', STAGE], endpoints());
      // Assess
      for (const run of [missing, malformed, unknown]) {
        assert.equal(run.code, 2);
        assert.doesNotMatch(run.stderr, /\n\s+at /);
      }
      assert.match(missing.stderr, /--stage is required/);
      assert.match(malformed.stderr, /STAGE: must be a stage name/);
      assert.match(unknown.stderr, /usage:/);
    });
  });

  describe('switchover refuses, changing nothing', () => {
    const table: {
      name: string;
      args: string[];
      lease?: Record<string, AttributeValue>;
      expected: RegExp;
    }[] = [
      {
        name: 'a target that is not a database instance of the stage',
        args: ['--to', 'i-0fff'],
        expected: /i-0fff is not a database instance of stage ops/,
      },
      {
        name: 'a target that is not a healthy standby',
        args: ['--to', 'i-0ccc'],
        expected: /i-0ccc is not a healthy standby: it is down \(stopped/,
      },
      { name: 'the primary itself', args: ['--to', 'i-0aaa'], expected: /i-0aaa already is the primary/ },
      {
        name: 'a target whose sidecar has not read the lease lately (its heartbeat a renewal hour behind)',
        args: ['--to', 'i-0bbb'],
        lease: leaseItem({ expiresAtMs: { N: String(NOW + 90 * 60_000) } }),
        expected: /i-0bbb is not a healthy standby: its sidecar has not reported reading the lease/,
      },
      {
        name: 'while a takeover is in progress (lease released, not yet taken)',
        args: [],
        lease: leaseItem({ expiresAtMs: { N: '0' }, releasedAtMs: { N: String(NOW - 500) } }),
        expected: /a takeover is in progress: i-0aaa released the lease/,
      },
      {
        name: 'while the holder is not primary yet',
        args: [],
        lease: {
          holderId: { S: 'i-0aaa' },
          fencingToken: { N: '8' },
          expiresAtMs: { N: String(NOW + 30 * 60_000) },
        },
        expected: /a takeover is in progress: i-0aaa holds the lease but is not primary yet/,
      },
    ];
    for (const row of table) {
      it(row.name, async () => {
        // Prepare
        await store.putRawLease(row.lease ?? leaseItem());
        const before = await store.readLease();
        // Act
        const run = await runDbCli(['switchover', '--stage', STAGE, '--yes', ...row.args], endpoints());
        // Assess
        assert.equal(run.code, 1);
        assert.match(run.stdout, row.expected);
        assert.deepEqual(await store.readLease(), before);
      });
    }

    it('when no standby is healthy', async () => {
      // Prepare: the only other running instance fails its status checks.
      const impaired = await startEc2FixtureServer(world('impaired'));
      await store.putRawLease(leaseItem());
      try {
        // Act
        const run = await runDbCli(['switchover', '--stage', STAGE, '--yes'], {
          ec2: impaired.endpoint,
          dynamodb: store.endpoint,
        });
        // Assess
        assert.equal(run.code, 1);
        assert.match(
          run.stdout,
          /no healthy standby \(running, both status checks ok, its sidecar reading the lease\): i-0bbb impaired, i-0ccc down/,
        );
        assert.equal((await store.readLease())?.handover, undefined);
      } finally {
        await impaired.close();
      }
    });

    it('asks first on a terminal, and changes nothing when the answer is no', async () => {
      // Prepare
      await store.putRawLease(leaseItem());
      // Act
      const run = await runDbCli(['switchover', '--stage', STAGE], endpoints(), 'n\n', { terminal: true });
      // Assess
      assert.equal(run.code, 1);
      assert.match(
        run.stdout,
        /Hand the primary of stage ops over from i-0aaa to i-0bbb\? Writes stop for a few seconds\. \[y\/N\]/,
      );
      assert.match(run.stdout, /Switchover cancelled: nothing was changed\./);
      assert.equal((await store.readLease())?.handover, undefined);
    });

    it('without --yes when it cannot ask (not a terminal)', async () => {
      // Prepare
      await store.putRawLease(leaseItem());
      // Act
      const run = await runDbCli(['switchover', '--stage', STAGE], endpoints(), 'y\n');
      // Assess
      assert.equal(run.code, 2);
      assert.match(run.stderr, /pass --yes/);
      assert.equal((await store.readLease())?.handover, undefined);
    });
  });

  describe('switchover whose request the primary never acts on', () => {
    it("gives up once the holder's renewals void the request, withdraws it, and says nothing changed", async () => {
      // Prepare: a holder that renews without acting on requests, its clock 10 minutes ahead of this one (so the
      // request's life is counted on its clock, not here); time passes 1 s per poll.
      const holderAheadMs = 600_000;
      const leaseExpiresAtMs = Date.now() + holderAheadMs + 10_000;
      await store.putRawLease(leaseItem({ expiresAtMs: { N: String(leaseExpiresAtMs) } }));
      await writeHeartbeat('i-0bbb', leaseExpiresAtMs);
      const local = { region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
      const ec2Client = new EC2Client({ ...local, endpoint: ec2.endpoint });
      const dynamodb = store.client({ region: 'eu-west-1' });
      let nowMs = Date.now();
      const printed: string[] = [];
      const config = readFailoverConfig({ STAGE, LEASE_TABLE: `cloudy-${STAGE}-lease` });
      try {
        // Act
        const code = await switchover(
          {
            ec2: ec2Client,
            dynamodb,
            leaseWriter: dynamodb,
            config: { ...config, leaseTable: `cloudy-${STAGE}-lease` },
            deadline: { remainingMs: () => 60_000, ensureTimeFor: () => {} },
            now: () => nowMs,
            sleep: async (ms) => {
              nowMs += Math.max(ms, 1_000);
              await dynamodb.send(
                new UpdateItemCommand({
                  TableName: `cloudy-${STAGE}-lease`,
                  Key: { lockName: { S: LEASE_NAME } },
                  UpdateExpression: 'SET expiresAtMs = :expires',
                  ExpressionAttributeValues: { ':expires': { N: String(nowMs + holderAheadMs + 10_000) } },
                }),
              );
            },
            print: (line) => printed.push(line),
            confirm: async () => assert.fail('--yes: no question'),
          },
          { to: undefined, yes: true },
        );
        // Assess
        assert.equal(code, 1);
        assert.match(printed[0] ?? '', /asked i-0aaa \(lease token 7\) to hand over to i-0bbb$/);
        assert.match(
          printed.at(-1) ?? '',
          /\(\+3\d\.\d\d s\) {2}i-0aaa renewed its lease past the request without acting on it; the request is void and withdrawn\. Nothing was changed\./,
        );
        assert.equal((await store.readLease())?.handover, undefined);
        assert.equal((await store.readLease())?.fencingToken, 7);
      } finally {
        ec2Client.destroy();
        dynamodb.destroy();
      }
    });
    it("says so when the request's write got no answer and never landed, and changes nothing", async () => {
      // Prepare: the holder renews as above (one clock); the request's single attempt fails before reaching
      // DynamoDB (a connection reset), so nothing is written; time passes 1 s per poll.
      const leaseExpiresAtMs = Date.now() + 10_000;
      await store.putRawLease(leaseItem({ expiresAtMs: { N: String(leaseExpiresAtMs) } }));
      await writeHeartbeat('i-0bbb', leaseExpiresAtMs);
      const local = { region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
      const ec2Client = new EC2Client({ ...local, endpoint: ec2.endpoint });
      const dynamodb = store.client({ region: 'eu-west-1' });
      const leaseWriter = store.client({ region: 'eu-west-1', maxAttempts: 1 });
      leaseWriter.middlewareStack.add(
        () => async () => {
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        },
        { step: 'finalizeRequest', name: 'neverSent' },
      );
      let nowMs = Date.now();
      const printed: string[] = [];
      const config = readFailoverConfig({ STAGE, LEASE_TABLE: `cloudy-${STAGE}-lease` });
      try {
        // Act
        const code = await switchover(
          {
            ec2: ec2Client,
            dynamodb,
            leaseWriter,
            config: { ...config, leaseTable: `cloudy-${STAGE}-lease` },
            deadline: { remainingMs: () => 60_000, ensureTimeFor: () => {} },
            now: () => nowMs,
            sleep: async (ms) => {
              nowMs += Math.max(ms, 1_000);
            },
            print: (line) => printed.push(line),
            confirm: async () => assert.fail('--yes: no question'),
          },
          { to: undefined, yes: true },
        );
        // Assess
        assert.equal(code, 1);
        assert.match(printed[1] ?? '', /the request's write got no answer and is not on the lease item/);
        assert.match(
          printed.at(-1) ?? '',
          /i-0aaa never had the request: its write was lost\. Nothing was changed\./,
        );
        assert.equal((await store.readLease())?.handover, undefined);
      } finally {
        ec2Client.destroy();
        dynamodb.destroy();
        leaseWriter.destroy();
      }
    });
  });
});
