import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from '../../chaos/chaos';
import { scaledEc2Timing } from '../../chaos/ec2-timing';
import { FAULTS } from '../../chaos/faults';
import { dataIntact } from '../../chaos/verify-data';

// The short version of `npm run chaos`, on the same production path (production sidecars against the emulated EC2
// API, the failover Lambda in the loop, writes through the web app and the VIP router): two instances, each fault
// once, a 5 s lease and EC2's timings scaled down to a fifth. Only invariants and progress are asserted; takeover
// and outage times are reported by the long run, never asserted.
describe('database tier under faults on the production path (short run)', { timeout: 400_000 }, () => {
  it('never runs two PostgreSQL servers on the data directory and never loses an acknowledged write', async () => {
    // Act
    const result = await runChaos({
      cycles: FAULTS.length,
      sidecars: 2,
      // T = 5 s: the lease store's requests time out after T/5 = 1 s, which a loaded machine must still meet.
      timing: {
        ttlMs: 5_000,
        renewIntervalMs: 1_000,
        selfFenceMarginMs: 1_500,
        clockSkewMs: 100,
        standbyPollMs: 250,
      },
      ec2: scaledEc2Timing(0.2),
      skipOsShutdown: true,
      promotionDeadlineMs: 5_000,
      failoverScheduleMs: 2_000,
      writeIntervalMs: 100,
      livenessTimeoutMs: 120_000,
      // Each cycle (the runner shows it as a TAP comment): what happened is readable when an invariant fails.
      progress: (line) => process.stdout.write(`${line}\n`),
    });
    // Assess
    assert.equal(result.aborted, undefined);
    assert.deepEqual(
      result.cycles.map((cycle) => cycle.fault),
      [...FAULTS],
    );
    for (const cycle of result.cycles) {
      assert.ok(cycle.toToken > cycle.fromToken, `${cycle.fault}: a new generation took over`);
      assert.equal(cycle.faultProblem, undefined, cycle.fault);
    }
    assert.ok(result.sampler.samples > 100, 'the data directory was watched throughout');
    assert.deepEqual(result.twoServerMoments, []);
    assert.ok(result.acknowledged > 0, 'the client wrote through the web app across the takeovers');
    assert.equal(result.lost, 0);
    assert.ok(result.injectedEc2Errors > 0, 'ec2-errors made the fence and the promotion meet EC2 errors');
    assert.ok(result.failoverRuns > 0, 'the failover Lambda ran in the loop');
    assert.ok(dataIntact(result.data), JSON.stringify(result.data));
  });
});
