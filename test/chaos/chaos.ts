import { spawn } from 'node:child_process';
import { openSync, readFileSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { APP, STAGE, startAwsCluster, VIRTUAL_IP } from './aws-cluster';
import type { ClusterTiming, Primary } from './cluster';
import type { ChaosEc2Timing } from './ec2-timing';
import { FAULTS, type Fault, injectFault } from './faults';
import { LOCAL_AWS_ENV } from './lease-store-server';
import { startSamplerProcess } from './sampler-client';
import type { SamplerReport } from './server-sampler';
import { bundleForChaos } from './sidecar-bundle';
import { type DataVerification, dataIntact } from './verify-data';
import { appConnection, startWebTier } from './web-tier';
import { missingUsers, startWebWriter, writeOutageMs } from './web-writer';

const REPO = resolve(import.meta.dirname, '../..');

export interface CycleResult {
  fault: Fault;
  from: string;
  to: string;
  fromToken: number;
  /** A new generation of the lease: larger than fromToken (the holder may be the same, restarted). */
  toToken: number;
  /** Fault injected → a new holder's PostgreSQL answers queries and the VIP route targets it. */
  takeoverMs: number;
  /** The longest time without an acknowledged POST /users around the takeover (web-writer.ts). */
  writeOutageMs: number | undefined;
  /** What the fault's own check found wrong, if anything. */
  faultProblem?: string;
}

export interface ChaosResult {
  cycles: CycleResult[];
  sampler: SamplerReport;
  /** POST /users answered 201. */
  acknowledged: number;
  /** Acknowledged users missing on the primary after a takeover, summed over all checks, and at the end. */
  lost: number;
  twoServerMoments: { atMs: number; servers: string[] }[];
  /** The end-of-run check of the data on the last primary. */
  data: DataVerification;
  /** Runs of the failover Lambda in the loop, and EC2 errors the emulator injected. */
  failoverRuns: number;
  injectedEc2Errors: number;
  /** Why the run stopped before all its cycles, if it did (a takeover that did not happen in time). */
  aborted?: string;
  /** The first invariant that failed, if one did (what a mutation run reports). */
  firstFailure?: string;
  logDir: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const giveUpAt = performance.now() + timeoutMs;
  while (performance.now() < giveUpAt) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`no ${what} within ${timeoutMs} ms`);
}

/** Runs a bundled program of the suite as a child process; resolves with its stdout once it exits 0. */
function runProgram(file: string, args: string[], ids: { uid?: number; gid?: number }): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [file, ...args], { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? done(out) : fail(new Error(`${file} exited ${code}: ${err}`)),
    );
  });
}

/**
 * The fault-injection run on the production path: database instances (production sidecars) against the emulated
 * EC2 API and the lease store, the failover Lambda in the loop, the web app reached through the VIP router, and
 * a client writing through it at a fixed rate while faults rotate over the holder; the sampler watches the data
 * directory all along. `livenessTimeoutMs` only stops a stuck run, it measures nothing.
 */
export async function runChaos(options: {
  cycles: number;
  sidecars: number;
  timing: ClusterTiming;
  ec2: ChaosEc2Timing;
  skipOsShutdown: boolean;
  promotionDeadlineMs: number;
  /** The failover Lambda runs this often (on AWS: every minute, and at once on an EC2 state change). */
  failoverScheduleMs: number;
  /** The client sends a POST /users this often. */
  writeIntervalMs: number;
  livenessTimeoutMs: number;
  /** The faults to rotate through (default: all of them). */
  faults?: readonly Fault[];
  /** No cycle starts after this long (the run then ends as if it had been given that many cycles). */
  stopStartingAfterMs?: number;
  keepLogs?: boolean;
  progress?: (line: string) => void;
  /** A deliberate defect applied to the copy of the sidecar bundle this run uses (mutants.ts). */
  mutateSidecar?: (bundle: string) => string;
  /** End the run at the first cycle that breaks an invariant (a mutation run needs no more). */
  stopAtFirstFailure?: boolean;
}): Promise<ChaosResult> {
  const progress = options.progress ?? (() => {});
  const cluster = await startAwsCluster({
    sidecars: options.sidecars,
    timing: options.timing,
    ec2: options.ec2,
    skipOsShutdown: options.skipOsShutdown,
    promotionDeadlineMs: options.promotionDeadlineMs,
    keepLogs: options.keepLogs ?? process.env.CHAOS_KEEP_LOGS === '1',
    ...(options.mutateSidecar ? { mutateSidecar: options.mutateSidecar } : {}),
  });
  const cleanup: (() => Promise<void>)[] = [() => cluster.stop()];
  const runCleanup = async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    // The sampler runs from the very start, in a process of its own.
    const sampler = await startSamplerProcess({
      dataDir: join(realpathSync(join(cluster.pgdata, '..')), 'pgdata'),
      intervalMs: 20,
    });
    let samplerState: Awaited<ReturnType<typeof sampler.stop>> | undefined;
    cleanup.push(async () => {
      samplerState = await sampler.stop();
    });
    const failoverProgram = join(cluster.root, 'failover-loop.mjs');
    await bundleForChaos(join(REPO, 'test/chaos/failover-loop.ts'), failoverProgram);
    const failoverLog = join(cluster.logDir, 'failover.log');
    const failoverFd = openSync(failoverLog, 'a');
    const failover = spawn(process.execPath, [failoverProgram, String(options.failoverScheduleMs)], {
      stdio: ['ignore', failoverFd, failoverFd],
      env: {
        PATH: process.env.PATH,
        ...LOCAL_AWS_ENV,
        AWS_ENDPOINT_URL_EC2: cluster.emulator.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: cluster.store.endpoint,
        STAGE,
        VIRTUAL_IP,
        LEASE_TABLE: cluster.store.table,
        LOG_LEVEL: 'info',
      },
    });
    let failoverRuns = 0;
    cleanup.push(async () => {
      const gone = new Promise((done) => failover.once('exit', done));
      failover.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000)]);
      failover.kill('SIGKILL');
      // Counted before the cluster's folder (and its logs, unless kept) is removed.
      failoverRuns = readFileSync(failoverLog, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"msg":"failover run"')).length;
    });

    // The first boot initialises the data directory through the instance's page cache (FUSE): slow on a loaded
    // machine, and bounded separately from a takeover.
    await waitFor('first primary', Math.max(options.livenessTimeoutMs, 240_000), () => cluster.primary());
    const web = await startWebTier(cluster, { timeoutMs: options.livenessTimeoutMs });
    cleanup.push(() => web.stop());
    const writer = startWebWriter({
      baseUrl: web.baseUrl,
      intervalMs: options.writeIntervalMs,
      requestTimeoutMs: 5_000,
    });
    cleanup.push(() => writer.stop());

    const cycles: CycleResult[] = [];
    const rotation = options.faults ?? FAULTS;
    const rotationAt = (index: number) => rotation[index % rotation.length] as Fault;
    let lost = 0;
    let aborted: string | undefined;
    let firstFailure: string | undefined;
    const stopStartingAt = performance.now() + (options.stopStartingAfterMs ?? Number.POSITIVE_INFINITY);
    for (let index = 0; index < options.cycles && !aborted && performance.now() < stopStartingAt; index++) {
      try {
        const fault = rotationAt(index);
        // A primary whose sidecar runs, with every other instance up, and the client writing through it.
        const stablePrimary = async () => {
          const primary = cluster.allUp() ? await cluster.primary() : undefined;
          return primary && cluster.slotOf(primary.holderId) ? primary : undefined;
        };
        await waitFor('stable primary with all standbys up', options.livenessTimeoutMs, stablePrimary);
        await writer.ackAfter(performance.now(), options.livenessTimeoutMs);
        await sleep(500); // writes acknowledged by this primary, to be found after the takeover
        const holder: Primary = await waitFor('stable primary', options.livenessTimeoutMs, stablePrimary);
        let started = performance.now();
        const faultOver = injectFault(cluster, holder, fault, {
          ttlMs: options.timing.ttlMs,
          promotionDeadlineMs: options.promotionDeadlineMs,
          mark: () => {
            started = performance.now();
          },
        });
        // The fault's own failure ends the run at once rather than after the liveness timeout.
        const faultFailed = faultOver.then(
          () => new Promise<never>(() => {}),
          (error: unknown) => Promise.reject(error),
        );
        const after = await Promise.race([
          waitFor('new primary', options.livenessTimeoutMs, async () => {
            const primary = await cluster.primary();
            return primary && primary.fencingToken > holder.fencingToken ? primary : undefined;
          }),
          faultFailed,
        ]);
        const takeoverAt = performance.now();
        const takeoverMs = takeoverAt - started;
        const faultProblem = await faultOver;
        await writer.ackAfter(takeoverAt, options.livenessTimeoutMs);
        const outage = writeOutageMs(writer.attempts(), started, takeoverAt);
        // On the primary of the moment; should it go while it is asked (a loaded machine, the next fault's
        // preparation), on the next one.
        const missing = await waitFor('primary to verify on', options.livenessTimeoutMs, async () => {
          const current = await cluster.primary();
          if (!current) return undefined;
          return missingUsers({
            port: current.port,
            connection: appConnection(cluster),
            acknowledged: writer.acknowledged(),
          }).catch(() => undefined);
        });
        lost += missing.length;
        cycles.push({
          fault,
          from: holder.holderId,
          to: after.holderId,
          fromToken: holder.fencingToken,
          toToken: after.fencingToken,
          takeoverMs,
          writeOutageMs: outage,
          ...(faultProblem ? { faultProblem } : {}),
        });
        const seconds = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
        progress(
          `cycle ${index + 1}/${options.cycles} ${fault}: ${holder.holderId}#${holder.fencingToken} → ` +
            `${after.holderId}#${after.fencingToken}, takeover ${seconds(takeoverMs)}, write outage ${seconds(outage)}, ` +
            `acked ${writer.acknowledged().length}, missing ${missing.length}, ` +
            `two-server samples ${sampler.latest().twoServerSamples}${faultProblem ? `, PROBLEM: ${faultProblem}` : ''}`,
        );
        const twoServers = sampler.latest().twoServerSamples;
        firstFailure ??=
          twoServers > 0
            ? `two servers on the data directory (${twoServers} samples, ${fault})`
            : missing.length > 0
              ? `acknowledged writes missing after a takeover (${missing.length}, ${fault})`
              : faultProblem
                ? `${fault}: ${faultProblem}`
                : undefined;
        if (firstFailure && options.stopAtFirstFailure) break;
      } catch (error) {
        // The invariants are still measured, and the data still verified, over the cycles that ran.
        aborted = `cycle ${index + 1} (${rotationAt(index)}): ${(error as Error).message}`;
        progress(`run aborted at ${aborted}`);
      }
    }
    await writer.stop();
    await web.stop();
    let data: DataVerification;
    try {
      // The last primary read the data through its own page cache, which no other instance's late writeback
      // reaches: its instance crashes once more, so that the data is checked as the storage holds it, by a new
      // server that starts on it.
      const finalHolder = await waitFor('primary before the final check', options.livenessTimeoutMs, () =>
        cluster.primary(),
      );
      const finalSlot = cluster.slotOf(finalHolder.holderId);
      if (finalSlot) cluster.crash(finalSlot);
      const last = await waitFor('primary to verify the data on', options.livenessTimeoutMs, async () => {
        const primary = await cluster.primary();
        return primary && primary.fencingToken > finalHolder.fencingToken ? primary : undefined;
      });
      const missingAtEnd = await missingUsers({
        port: last.port,
        connection: appConnection(cluster),
        acknowledged: writer.acknowledged(),
      });
      lost += missingAtEnd.length;
      if (missingAtEnd.length > 0)
        firstFailure ??= `acknowledged writes missing in the storage at the end (${missingAtEnd.length})`;
      const verifier = join(cluster.root, 'verify-data.mjs');
      await bundleForChaos(join(REPO, 'test/chaos/verify-data-main.ts'), verifier);
      const lastSlot = cluster.slots.find((slot) => slot.port === last.port);
      data = JSON.parse(
        await runProgram(
          verifier,
          [
            lastSlot?.socketDir ?? '',
            String(last.port),
            cluster.superuser.name,
            APP.database,
            `${APP.user}.users`,
          ],
          cluster.superuser.spawnAs,
        ),
      ) as DataVerification;
      progress(
        `data on ${last.holderId}: ${JSON.stringify(data)}, missing at the end ${missingAtEnd.length}`,
      );
    } catch (error) {
      const message = (error as Error).message.split('\n').slice(0, 3).join(' ');
      data = {
        checksums: false,
        durability: { fsync: '', full_page_writes: '', synchronous_commit: '' },
        heapProblems: 0,
        indexesChecked: 0,
        checksumFailures: 0,
        error: message,
      };
      progress(`data check failed: ${message}`);
    }
    if (!dataIntact(data)) firstFailure ??= `data check at the end: ${JSON.stringify(data)}`;
    const injectedEc2Errors = Object.values(cluster.emulator.faultCounts()).reduce((a, b) => a + b, 0);
    await runCleanup();
    const state = samplerState ?? { samples: 0, twoServerSamples: 0, maxGapMs: 0, violations: [] };
    return {
      cycles,
      sampler: { samples: state.samples, twoServerSamples: state.twoServerSamples, maxGapMs: state.maxGapMs },
      acknowledged: writer.acknowledged().length,
      lost,
      twoServerMoments: state.violations,
      data,
      failoverRuns,
      injectedEc2Errors,
      ...(aborted ? { aborted } : {}),
      ...(firstFailure || aborted ? { firstFailure: firstFailure ?? `liveness: ${aborted}` } : {}),
      logDir: cluster.logDir,
    };
  } catch (error) {
    await runCleanup();
    throw error;
  }
}
