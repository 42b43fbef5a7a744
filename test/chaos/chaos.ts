import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { CHAOS_PASSWORD, type ClusterTiming, type Primary, startCluster } from './cluster';
import { FAULTS, type Fault, injectFault } from './faults';
import { startSamplerProcess } from './sampler-client';
import type { SamplerReport } from './server-sampler';
import { type DataVerification, verifyData } from './verify-data';
import { missingRows, startWriter } from './writer';

export interface CycleResult {
  fault: Fault;
  from: string;
  to: string;
  fromToken: number;
  /** A new generation of the lease: larger than fromToken (the holder may be the same, restarted). */
  toToken: number;
  /** Fault injected → a new holder's PostgreSQL answers queries and the route points at it. */
  takeoverMs: number;
  /** What the fault's own check found wrong, if anything. */
  faultProblem?: string;
}

export interface ChaosResult {
  cycles: CycleResult[];
  sampler: SamplerReport;
  acknowledged: number;
  /** Acknowledged commits missing on the primary after a takeover, summed over all checks. */
  lost: number;
  twoServerMoments: { atMs: number; servers: string[] }[];
  /** The end-of-run check of the data on the last primary. */
  data: DataVerification;
  /** Why the run stopped before all its cycles, if it did (a takeover that did not happen in time). */
  aborted?: string;
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

/**
 * The fault-injection run: a writer commits numbered rows throughout while faults rotate over the holder; the
 * sampler watches the data directory all along. `livenessTimeoutMs` only stops a stuck run, it measures nothing.
 */
export async function runChaos(options: {
  cycles: number;
  sidecars: number;
  timing: ClusterTiming;
  livenessTimeoutMs: number;
  /** The faults to rotate through (default: all of them). */
  faults?: readonly Fault[];
  /** No cycle starts after this long (the run then ends as if it had been given that many cycles). */
  stopStartingAfterMs?: number;
  keepLogs?: boolean;
  progress?: (line: string) => void;
}): Promise<ChaosResult> {
  const progress = options.progress ?? (() => {});
  const cluster = await startCluster({
    sidecars: options.sidecars,
    timing: options.timing,
    keepLogs: options.keepLogs ?? false,
  });
  // The sampler runs from the very start, in a process of its own.
  const sampler = await startSamplerProcess({
    dataDir: join(realpathSync(join(cluster.pgdata, '..')), 'pgdata'),
    intervalMs: 20,
  }).catch(async (error: unknown) => {
    await cluster.stop();
    throw error;
  });
  const writer = startWriter({ routeFile: cluster.routeFile, password: CHAOS_PASSWORD, intervalMs: 20 });
  const cycles: CycleResult[] = [];
  const rotation = options.faults ?? FAULTS;
  const rotationAt = (index: number) => rotation[index % rotation.length] as Fault;
  let lost = 0;
  let samplerState: Awaited<ReturnType<typeof sampler.stop>>;
  let data: DataVerification;
  let aborted: string | undefined;
  try {
    const stopStartingAt = performance.now() + (options.stopStartingAfterMs ?? Number.POSITIVE_INFINITY);
    for (let index = 0; index < options.cycles && !aborted && performance.now() < stopStartingAt; index++) {
      try {
        const fault = rotationAt(index);
        // A primary whose sidecar runs (one that has just self-fenced may still answer for a moment).
        const stablePrimary = async () => {
          const primary = cluster.allUp() ? await cluster.primary() : undefined;
          return primary && cluster.slotOf(primary.holderId) ? primary : undefined;
        };
        await waitFor('stable primary with all standbys up', options.livenessTimeoutMs, stablePrimary);
        await sleep(500); // commits acknowledged by this primary, to be found after the takeover
        const holder: Primary = await waitFor('stable primary', options.livenessTimeoutMs, stablePrimary);
        let started = performance.now();
        const faultOver = injectFault(cluster, holder, fault, {
          ttlMs: options.timing.ttlMs,
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
        const takeoverMs = performance.now() - started;
        const faultProblem = await faultOver;
        const current = await waitFor('primary to verify on', options.livenessTimeoutMs, () =>
          cluster.primary(),
        );
        const missing = await missingRows({
          port: current.port,
          password: CHAOS_PASSWORD,
          acknowledged: writer.acknowledged(),
        });
        lost += missing.length;
        cycles.push({
          fault,
          from: holder.holderId,
          to: after.holderId,
          fromToken: holder.fencingToken,
          toToken: after.fencingToken,
          takeoverMs,
          ...(faultProblem ? { faultProblem } : {}),
        });
        progress(
          `cycle ${index + 1}/${options.cycles} ${fault}: ${holder.holderId}#${holder.fencingToken} → ` +
            `${after.holderId}#${after.fencingToken} in ${Math.round(takeoverMs)} ms, acked ${writer.acknowledged().length}, ` +
            `missing ${missing.length}, two-server samples ${sampler.latest().twoServerSamples}${faultProblem ? `, PROBLEM: ${faultProblem}` : ''}`,
        );
      } catch (error) {
        // The invariants are still measured, and the data still verified, over the cycles that ran.
        aborted = `cycle ${index + 1} (${rotationAt(index)}): ${(error as Error).message}`;
        progress(`run aborted at ${aborted}`);
      }
    }
    await writer.stop();
    const last = await waitFor('primary to verify the data on', options.livenessTimeoutMs, () =>
      cluster.primary(),
    );
    data = await verifyData({ port: last.port, password: CHAOS_PASSWORD, table: 'chaos_rows' });
    progress(`data on ${last.holderId}: ${JSON.stringify(data)}`);
  } finally {
    await writer.stop();
    samplerState = await sampler.stop();
    await cluster.stop();
  }
  return {
    cycles,
    sampler: {
      samples: samplerState.samples,
      twoServerSamples: samplerState.twoServerSamples,
      maxGapMs: samplerState.maxGapMs,
    },
    acknowledged: writer.acknowledged().length,
    lost,
    twoServerMoments: samplerState.violations,
    data,
    ...(aborted ? { aborted } : {}),
    logDir: cluster.logDir,
  };
}
