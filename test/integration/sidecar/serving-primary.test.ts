// The boot script's readiness check (`main.mjs serving-primary`, userdata/database.sh), run as the sidecar's
// bundle ships, against a DynamoDB-compatible server (dynalite on 127.0.0.1) holding leases in each phase.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoDbLeaseStore } from '../../../shared/lease-table/holder-writes';
import { LEASE_NAME } from '../../../shared/lease-table/lease-item';
import { type LeaseStoreServer, LOCAL_AWS_ENV, startLeaseStoreServer } from '../../chaos/lease-store-server';
import { bundleForChaos } from '../../chaos/sidecar-bundle';

const HOUR = 3_600_000;

describe('sidecar bundle: serving-primary', () => {
  let server: LeaseStoreServer;
  let client: DynamoDBClient;
  let folder: string;
  let program: string;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'cloudy-27-serving-primary-'));
    program = join(folder, 'main.mjs');
    await bundleForChaos('ec2/sidecar/main.ts', program);
    server = await startLeaseStoreServer();
    client = server.client();
  });

  after(async () => {
    client.destroy();
    await server.close();
    rmSync(folder, { recursive: true, force: true });
  });

  // Asynchronous: dynalite answers from this very process.
  const run = (env: Record<string, string>, args = ['serving-primary']) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [program, ...args], {
        env: {
          PATH: process.env.PATH ?? '',
          ...LOCAL_AWS_ENV,
          AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
          LEASE_TABLE: server.table,
          ...env,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  const storeOf = (name: string) =>
    dynamoDbLeaseStore({ client, table: server.table, name, requestTimeoutMs: 5_000 });
  const take = (name: string, holderId: string, expiresAtMs: number) =>
    storeOf(name).acquire({
      replaces: { kind: 'absent' },
      holderId,
      expiresAtMs,
      seedToken: 1,
      fenceAllPending: false,
      takeovers: [],
    });

  it('names the holder only while its lease is unexpired and published as primary', async () => {
    // Prepare
    const store = storeOf(LEASE_NAME);
    const holder = { holderId: 'i-a', fencingToken: 1 };
    const phases: [string, string][] = [];
    const observe = async (phase: string) => {
      const result = await run({});
      assert.equal(result.status, 0, result.stderr);
      phases.push([phase, result.stdout]);
    };
    // Act
    await observe('absent');
    await take(LEASE_NAME, 'i-a', Date.now() + HOUR);
    await observe('starting');
    await store.publishPrimary({ ...holder, primarySinceMs: Date.now(), takeovers: [] });
    await observe('serving');
    await store.renew({ ...holder, expiresAtMs: Date.now() - 1 });
    await observe('expired');
    await store.renew({ ...holder, expiresAtMs: Date.now() + HOUR });
    await observe('serving again');
    await store.release({ ...holder, releasedAtMs: Date.now() });
    await observe('released');
    // Assess
    assert.deepEqual(phases, [
      ['absent', ''],
      ['starting', ''],
      ['serving', 'i-a\n'],
      ['expired', ''],
      ['serving again', 'i-a\n'],
      ['released', ''],
    ]);
  });

  it('reads the lease item that LEASE_NAME names, as the sidecar does', async () => {
    // Prepare
    await take('other-lease', 'i-other', Date.now() + HOUR);
    await storeOf('other-lease').publishPrimary({
      holderId: 'i-other',
      fencingToken: 1,
      primarySinceMs: Date.now(),
      takeovers: [],
    });
    // Act
    const result = await run({ LEASE_NAME: 'other-lease' });
    // Assess
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'i-other\n');
  });

  it('fails without output when the lease cannot be read, and names a missing setting', async () => {
    // Act
    const unreachable = await run({ AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' });
    const unconfigured = await run({ LEASE_TABLE: '' });
    const unknown = await run({}, ['serving-primary', '--now']);
    // Assess
    assert.equal(unreachable.status, 1);
    assert.equal(unreachable.stdout, '');
    assert.match(unreachable.stderr, /^serving-primary: /);
    assert.equal(unconfigured.status, 78);
    assert.match(unconfigured.stderr, /LEASE_TABLE/);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /main\.mjs: Unknown option '--now'/);
  });
});
