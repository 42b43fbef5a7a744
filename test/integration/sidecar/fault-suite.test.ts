import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from '../../chaos/chaos';
import { FAULTS } from '../../chaos/faults';
import { dataIntact } from '../../chaos/verify-data';

// The short version of `npm run chaos`: two sidecars, each fault once, a 3 s lease, the data verified at the end. Only invariants and progress
// are asserted; takeover times are reported by the long run, never asserted.
describe('database sidecars under faults (short run)', { timeout: 400_000 }, () => {
  it('never runs two PostgreSQL servers on the data directory and never loses an acknowledged commit', async () => {
    // Act
    const result = await runChaos({
      cycles: FAULTS.length,
      sidecars: 2,
      timing: {
        ttlMs: 3_000,
        renewIntervalMs: 600,
        selfFenceMarginMs: 900,
        clockSkewMs: 100,
        standbyPollMs: 250,
        restartDelayMs: 500,
      },
      livenessTimeoutMs: 60_000,
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
    assert.ok(result.acknowledged > 0, 'the writer committed through the takeovers');
    assert.equal(result.lost, 0);
    assert.ok(dataIntact(result.data), JSON.stringify(result.data));
  });
});
