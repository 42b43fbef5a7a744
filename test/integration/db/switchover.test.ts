// `npm run db -- switchover` end to end: real sidecars (the bundled ec2/sidecar/main.ts in local mode, as the fault
// suite runs them) and real PostgreSQL on one shared data directory, the lease in dynalite, the instances in the
// emulated EC2 API, all on 127.0.0.1. A client commits at a fixed rate throughout; the outage it saw is printed
// (docs/BENCHMARKS.md, "Planned switchover"), never asserted.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHAOS_PASSWORD, type Cluster, type Primary, startCluster } from '../../chaos/cluster';
import { missingRows } from '../../chaos/writer';
import { type Ec2FixtureServer, startEc2FixtureServer } from '../../support/ec2-api-server';
import { runDbCli } from './run-db-cli';
import { startTimedWriter } from './timed-writer';

const STAGE = 'local';
const SWITCHOVERS = Number(process.env.SWITCHOVERS ?? 3);
// The sidecar's defaults (ec2/sidecar/config.ts) and systemd's RestartSec=2 (userdata/database.sh).
const TIMING = {
  ttlMs: 10_000,
  renewIntervalMs: 2_000,
  selfFenceMarginMs: 3_000,
  clockSkewMs: 500,
  standbyPollMs: 500,
  restartDelayMs: 2_000,
};
// A client committing every 50 ms sees an outage to within 50 ms.
const WRITE_INTERVAL_MS = 50;

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  while (Date.now() < giveUpAt) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('npm run db -- switchover (real sidecars and PostgreSQL)', { timeout: 600_000 }, () => {
  let cluster: Cluster;
  let ec2: Ec2FixtureServer;
  let ids: string[] = [];

  before(async () => {
    cluster = await startCluster({ sidecars: 3, timing: TIMING, keepLogs: process.env.KEEP_LOGS === '1' });
    await waitFor('a first primary', 180_000, () => cluster.primary());
    // The first holder found no lease item, so it fenced every other sidecar before starting PostgreSQL; one it
    // killed comes back under a new id (a new instance). Once every slot's current process has registered, the
    // ids stay: from here on a sidecar restarts under its own id (systemd restarting the unit on the same
    // instance), so the emulated instances keep standing for them.
    await waitFor('every sidecar up', 120_000, async () =>
      cluster.slots.every(registered) ? true : undefined,
    );
    ids = cluster.slots.map((slot) => slot.current?.id ?? '');
    ec2 = await startEc2FixtureServer({
      instances: ids.map((instanceId, index) => ({
        instanceId,
        state: 'running' as const,
        instanceCheck: 'ok',
        systemCheck: 'ok',
        launchTime: new Date(Date.UTC(2026, 11, 1, 0, index)).toISOString(),
        tags: { database: 'true', 'cloudy:stage': STAGE },
      })),
      routeTables: [],
    });
  });

  after(async () => {
    await ec2?.close();
    await cluster?.stop();
  });

  /** The last lines of every sidecar's log, for a failure message. */
  function sidecarLogTails(): string {
    return readdirSync(cluster.logDir)
      .map((file) => {
        const lines = readFileSync(join(cluster.logDir, file), 'utf8').trimEnd().split('\n');
        return `--- ${file}\n${lines.slice(-15).join('\n')}`;
      })
      .join('\n');
  }

  /** The slot's sidecar is running: its current process has registered for fencing, so it polls the lease. */
  function registered(slot: Cluster['slots'][number]): boolean {
    const current = slot.current;
    if (!current) return false;
    const registration = join(cluster.root, 'fence-registry', `${current.id}.json`);
    return (
      existsSync(registration) && JSON.parse(readFileSync(registration, 'utf8')).pgid === current.child.pid
    );
  }

  it('hands the primary to the standby without fencing, losing no acknowledged commit', async () => {
    // Prepare
    const writer = startTimedWriter({
      routeFile: cluster.routeFile,
      password: CHAOS_PASSWORD,
      intervalMs: WRITE_INTERVAL_MS,
    });
    const results: { from: string; to: string; sidecarsMs: number; clientMs: number }[] = [];
    let primary: Primary = await waitFor('the primary', 60_000, () => cluster.primary());
    let lastRun = { code: 0, stdout: '', stderr: '' };
    try {
      for (let round = 0; round < SWITCHOVERS; round++) {
        const from = primary;
        // The previous primary's sidecar has restarted as a standby.
        await waitFor('every sidecar up', 120_000, async () =>
          cluster.slots.every(registered) ? true : undefined,
        );
        // Let the writer commit on the current primary first, so its gap is measured from a steady state.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const fromSlot = cluster.slotOf(from.holderId);
        assert.ok(fromSlot);
        fromSlot.restartWithSameId = true;
        const startedMs = performance.now();

        // Round 0 lets the command choose (the longest-running healthy standby); later rounds name the next
        // instance after the primary, round robin, so that the other standby, also polling, must leave the
        // released lease to the named one.
        const target = round === 0 ? undefined : ids[(ids.indexOf(from.holderId) + 1) % ids.length];

        // Act
        lastRun = await runDbCli(
          ['switchover', '--stage', STAGE, '--yes', ...(target ? ['--to', target] : [])],
          {
            ec2: ec2.endpoint,
            dynamodb: cluster.store.endpoint,
            leaseTable: cluster.store.table,
          },
        );
        const run = lastRun;
        assert.equal(run.code, 0, 'the switchover command succeeded');
        // What an operator sees, once, in the test's log.
        if (round === 0) process.stdout.write(`${run.stdout.trimEnd().replace(/^/gm, '# ')}\n`);
        primary = await waitFor('the new primary', 60_000, async () => {
          const now = await cluster.primary();
          return now && now.holderId !== from.holderId ? now : undefined;
        });
        if (target) assert.equal(primary.holderId, target, 'the named standby took over');
        // One more commit after the new primary, so that the gap is closed.
        const acknowledgedBefore = writer.acknowledged().length;
        await waitFor('a commit on the new primary', 30_000, async () =>
          writer.acknowledged().length > acknowledgedBefore ? true : undefined,
        );

        // Assess
        assert.equal(
          run.stdout.match(/took the lease \(token \d+, no fencing: the release was clean\)/g)?.length,
          1,
        );
        const lease = await cluster.store.readLease();
        const takeover = lease?.takeovers?.at(-1);
        assert.equal(primary.fencingToken, from.fencingToken + 1, 'one new generation, no detour');
        assert.equal(takeover?.reason, 'handover');
        assert.equal(takeover?.fenced, 'none');
        assert.equal(takeover?.previousHolderId, from.holderId);
        const outage = /Write outage \(the sidecars' events[^)]*\): ([\d.]+) s/.exec(run.stdout);
        assert.ok(outage?.[1], run.stdout);
        results.push({
          from: from.holderId,
          to: primary.holderId,
          sidecarsMs: Number(outage[1]) * 1000,
          clientMs: writer.longestGapAfter(startedMs),
        });
      }
    } catch (error) {
      throw new Error(
        `switchover ${results.length + 1} failed: ${(error as Error).message}\n` +
          `CLI (exit ${lastRun.code}):\n${lastRun.stdout}${lastRun.stderr}\n${sidecarLogTails()}`,
        { cause: error },
      );
    } finally {
      await writer.stop();
    }

    // Assess: every acknowledged commit is on the last primary.
    const lost = await missingRows({
      port: primary.port,
      password: CHAOS_PASSWORD,
      acknowledged: writer.acknowledged(),
    });
    assert.deepEqual(lost, []);
    assert.equal(results.length, SWITCHOVERS);
    for (const r of results) {
      process.stdout.write(
        `# switchover ${r.from} → ${r.to}: client write outage ${r.clientMs.toFixed(0)} ms, ` +
          `sidecars' events ${r.sidecarsMs.toFixed(0)} ms\n`,
      );
    }
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    const client = sorted(results.map((r) => r.clientMs));
    const sidecars = sorted(results.map((r) => r.sidecarsMs));
    const p50 = (values: number[]) => values[Math.floor((values.length - 1) / 2)] ?? 0;
    process.stdout.write(
      `# ${results.length} switchovers: client write outage p50 ${p50(client).toFixed(0)} ms, ` +
        `max ${(client.at(-1) ?? 0).toFixed(0)} ms; sidecars' events p50 ${p50(sidecars).toFixed(0)} ms, ` +
        `max ${(sidecars.at(-1) ?? 0).toFixed(0)} ms\n`,
    );
  });
});
