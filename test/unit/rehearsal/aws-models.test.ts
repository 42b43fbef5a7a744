// The rehearsal's pure AWS models: CloudWatch's alarm evaluation, Auto Scaling's step and target-tracking
// decisions and termination choice, and the scenario's compression.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  applyStep,
  type Capacity,
  chooseForTermination,
  chooseZone,
  stepAdjustment,
  targetTrackingDesired,
} from '../../rehearsal/auto-scaling';
import { type AlarmRule, evaluateAlarm, groupAverage, targetTrackingRules } from '../../rehearsal/cloudwatch';
import { compressScenario } from '../../rehearsal/scenario';
import type { StepPolicySpec } from '../../rehearsal/stage-template';

const HIGH: AlarmRule = {
  name: 'high',
  evaluationPeriods: 2,
  datapointsToAlarm: 2,
  threshold: 60,
  comparison: 'GreaterThanThreshold',
  treatMissingData: 'missing',
};

describe('CloudWatch alarm evaluation', () => {
  it('goes to ALARM when M of the last N datapoints breach, and back to OK when they stop', () => {
    assert.equal(evaluateAlarm(HIGH, [70], 'INSUFFICIENT_DATA'), 'OK'); // one breach cannot make M = 2
    assert.equal(evaluateAlarm(HIGH, [70, 70], 'OK'), 'ALARM');
    assert.equal(evaluateAlarm(HIGH, [70, 70, 60], 'ALARM'), 'OK'); // 60 is not greater than 60
    assert.equal(evaluateAlarm({ ...HIGH, evaluationPeriods: 3 }, [70, 50, 70], 'OK'), 'ALARM'); // 2 of 3
  });

  it('treats missing periods as the alarm says', () => {
    assert.equal(evaluateAlarm(HIGH, [null, null], 'OK'), 'INSUFFICIENT_DATA');
    assert.equal(evaluateAlarm(HIGH, [70, null], 'OK'), 'OK');
    assert.equal(evaluateAlarm({ ...HIGH, treatMissingData: 'breaching' }, [70, null], 'OK'), 'ALARM');
    assert.equal(evaluateAlarm({ ...HIGH, treatMissingData: 'ignore' }, [null, null], 'ALARM'), 'ALARM');
  });

  it("builds target tracking's two alarms: 3 periods above the target, 15 below 90 % of it", () => {
    const { high, low } = targetTrackingRules('g', 50);
    assert.deepEqual(
      [high.evaluationPeriods, high.threshold, high.comparison],
      [3, 50, 'GreaterThanThreshold'],
    );
    assert.deepEqual([low.evaluationPeriods, low.threshold, low.comparison], [15, 45, 'LessThanThreshold']);
  });

  it("averages the group's instances, and has no datapoint without instances", () => {
    assert.equal(groupAverage([100, 50, 0]), 50);
    assert.equal(groupAverage([]), null);
  });
});

const UP: StepPolicySpec = {
  kind: 'step',
  id: 'up',
  warmupSeconds: 60,
  steps: [{ lower: 0, upper: null, adjustment: 1 }],
};
const DOWN: StepPolicySpec = {
  kind: 'step',
  id: 'down',
  warmupSeconds: 60,
  steps: [{ lower: null, upper: 0, adjustment: -1 }],
};
const group = (change: Partial<Capacity>): Capacity => ({
  min: 2,
  max: 3,
  desired: 2,
  warm: 2,
  warming: 0,
  ...change,
});

describe('Auto Scaling decisions', () => {
  it("finds the step whose bounds hold the metric's distance to the threshold", () => {
    assert.equal(stepAdjustment(UP, 75, 60), 1);
    assert.equal(stepAdjustment(DOWN, 10, 40), -1);
    assert.equal(stepAdjustment(UP, 50, 60), null);
  });

  it('adds the step once while the new instance warms up, and never past the maximum', () => {
    assert.deepEqual(applyStep(group({}), 1)?.desired, 3);
    assert.equal(applyStep(group({ desired: 3, warm: 2, warming: 1 }), 1), null); // the same breach again
    assert.equal(applyStep(group({ desired: 3, warm: 3 }), 1), null); // at max
  });

  it('does not scale in while an instance warms up, nor below the minimum', () => {
    assert.equal(applyStep(group({ desired: 3, warm: 2, warming: 1 }), -1), null);
    assert.deepEqual(applyStep(group({ desired: 3, warm: 3 }), -1)?.desired, 2);
    assert.equal(applyStep(group({}), -1), null);
  });

  it('sets the capacity in proportion to metric / target, out at once, in only after warm-up', () => {
    assert.equal(targetTrackingDesired(group({}), 75, 50, 'out')?.desired, 3); // ceil(2 × 1.5)
    assert.equal(targetTrackingDesired(group({}), 200, 50, 'out')?.desired, 3); // max 3
    assert.equal(targetTrackingDesired(group({ desired: 3, warm: 3 }), 20, 50, 'in')?.desired, 2); // ceil(1.2), min 2
    assert.equal(targetTrackingDesired(group({ desired: 3, warm: 2, warming: 1 }), 20, 50, 'in'), null);
  });

  it('terminates in the zone with the most instances, its oldest first; launches into the emptiest zone', () => {
    const running = [
      { id: 'i-1', zone: 'a', launchedAt: 0 },
      { id: 'i-2', zone: 'b', launchedAt: 5 },
      { id: 'i-3', zone: 'b', launchedAt: 10 },
    ];
    assert.equal(chooseForTermination(running)?.id, 'i-2');
    assert.equal(chooseZone(['a', 'b'], running), 'a');
  });
});

describe('the compressed scenario', () => {
  it('divides every phase by the factor and scales its rates; a fractional constant rate becomes a count', () => {
    const text = [
      'config:',
      '  phases:',
      '    - { name: warm-up, duration: 60, arrivalRate: 1, rampTo: 10 }',
      '    - { name: sustain, duration: 600, arrivalRate: 10 }',
      '    - { name: cool-down, duration: 600, arrivalRate: 4 }',
      'scenarios:',
      '  - flow: [{ get: { url: "/" } }]',
    ].join('\n');
    const { text: compressed, awsSeconds } = compressScenario(text, 10, 0.25);
    assert.equal(awsSeconds, 1260);
    const document = parse(compressed) as { config: { phases: unknown[] }; scenarios: unknown[] };
    assert.deepEqual(document.config.phases, [
      { name: 'warm-up', duration: 6, arrivalRate: 0.25, rampTo: 2.5 },
      { name: 'sustain', duration: 60, arrivalCount: 150 },
      { name: 'cool-down', duration: 60, arrivalRate: 1 },
    ]);
    assert.deepEqual(document.scenarios, [{ flow: [{ get: { url: '/' } }] }]);
  });
});
