// The short rehearsal: the default stage's packaged template, real web instances in CPU-limited cgroups behind the
// rehearsal's load balancer, the scale-up scenario's requests with shorter phases at 20× compression, and one
// instance killed in the cool-down. It asserts what happened (alarm, policy, capacity, replacement, which requests
// failed), never how long it took: the machine is shared. The full-length runs are `npm run rehearse`
// (docs/BENCHMARKS.md).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { scenarioFile } from '../../../loadtest/src/scenarios';
import type { RehearsalResult } from '../../rehearsal/run-rehearsal';
import { runRehearsal } from '../../rehearsal/run-rehearsal';

// AWS time: 30 s ramp to 10/s, 5 min at 10/s (long enough for the added instance to boot and serve), 4 min at
// 1/s (the scenario's own phases last 21 min); one instance killed early in the cool-down.
const SHORT_PHASES = [
  { name: 'warm-up', duration: 30, arrivalRate: 1, rampTo: 10 },
  { name: 'sustain', duration: 300, arrivalRate: 10 },
  { name: 'cool-down', duration: 240, arrivalRate: 1 },
];
const KILL_AT_AWS_SECONDS = 360;

describe('the web tier rehearsed (short): scale-up with the default stage, an instance killed', () => {
  const results = mkdtempSync(join(tmpdir(), 'cloudy-rehearsal-test-25-'));
  let run: RehearsalResult;

  before(async () => {
    const scenario = parse(readFileSync(scenarioFile('scale-up'), 'utf8')) as {
      config: Record<string, unknown>;
    };
    scenario.config.phases = SHORT_PHASES;
    run = await runRehearsal({
      stage: 'dev',
      params: {},
      scenario: 'scale-up',
      scenarioText: stringify(scenario),
      factor: 20,
      vcpuShare: 0.25,
      referenceRequestSeconds: 0.3,
      faults: [{ kind: 'kill', atAwsSeconds: KILL_AT_AWS_SECONDS }],
      tailAwsSeconds: 60,
      resultsDir: results,
      say: () => {},
    });
  });
  after(() => rmSync(results, { recursive: true, force: true }));

  const events = (kind: string) => run.timeline.events.filter((e) => e.kind === kind);
  // What happened, for the message of a failed assertion.
  const story = () =>
    run.timeline.events.map((e) => `${e.t} ${e.kind} ${e.instance ?? ''} ${e.text}`).join('\n');

  it('plays the numbers of the packaged template', () => {
    assert.deepEqual(
      { min: run.spec.group.min, max: run.spec.group.max, desired: run.spec.group.desired },
      { min: 2, max: 3, desired: 2 },
    );
    assert.deepEqual(
      run.spec.alarms.map((a) => [a.threshold, a.evaluationPeriods, a.periodSeconds]),
      [
        [60, 2, 60],
        [40, 2, 60],
      ],
    );
  });

  it('fires the high-CPU alarm under the load and adds one instance, never more than the maximum', () => {
    assert.ok(
      events('alarm').some((e) => /cpu-high: OK → ALARM/.test(e.text)),
      'the high alarm fired',
    );
    const scaleOut = events('desired').find((e) => /2 → 3 \(WebScaleUpPolicy\)/.test(e.text));
    assert.ok(scaleOut, `the step policy set the desired capacity 2 → 3:\n${story()}`);
    assert.ok(
      run.timeline.buckets.every((b) => b.desired >= 2 && b.desired <= 3),
      'desired capacity stays within min and max',
    );
    const launched = events('launch').find((e) => e.t >= scaleOut.t);
    assert.ok(launched, 'an instance launched for it');
    assert.ok(
      events('target').some((e) => e.instance === launched.instance && /→ healthy/.test(e.text)),
      `the new instance became a healthy target:\n${story()}`,
    );
  });

  it('scales back in to the minimum in the cool-down, without a failed request while the instance drains', () => {
    const scaleIn = events('desired').find((e) => /3 → 2 \(WebScaleDownPolicy\)/.test(e.text));
    assert.ok(scaleIn, `the low alarm brought the group back to 2:\n${story()}`);
    const terminated = events('terminate').filter((e) => e.text.startsWith('scale-in'));
    assert.equal(terminated.length, 1);
    assert.ok(
      events('drained').some(
        (e) => e.instance === terminated[0]?.instance && e.text === 'no request in flight',
      ),
      'its requests finished inside the deregistration delay',
    );
    assert.equal(run.summary.failuresDuringScaleIn, 0);
  });

  it('stops routing to a killed instance once its health checks fail, and replaces it', () => {
    const [kill] = events('fault');
    assert.ok(kill?.instance, 'an instance was killed');
    assert.ok(
      events('target').some((e) => e.instance === kill.instance && /healthy → unhealthy/.test(e.text)),
      'the load balancer marked it unhealthy',
    );
    const replaced = events('unhealthy').find((e) => e.instance === kill.instance);
    assert.ok(replaced, `Auto Scaling saw it unhealthy:\n${story()}`);
    assert.ok(
      events('launch').some((e) => e.t >= replaced.t),
      'and launched a replacement',
    );
    // The only failures: the killed instance's 502s before the load balancer stopped routing to it.
    const unhealthyAt = events('target').find(
      (e) => e.instance === kill.instance && /→ unhealthy/.test(e.text),
    )?.t;
    const failures = run.timeline.requests.filter(
      (r) => !(r.status >= 200 && r.status < 400) && !(r.status === 503 && r.target !== null),
    );
    for (const failure of failures) {
      assert.equal(failure.status, 502);
      assert.equal(failure.target, kill.instance);
      assert.ok(
        failure.at / 1000 <= (unhealthyAt ?? 0) + 1,
        `502 at ${failure.at} ms after the instance was unhealthy`,
      );
    }
  });

  it('writes the timeline and the report', () => {
    const timeline = JSON.parse(readFileSync(run.timelineFile, 'utf8')) as { summary: { requests: number } };
    assert.ok(timeline.summary.requests > 0);
    const html = readFileSync(run.reportFile, 'utf8');
    for (const id of ['chart-cpu', 'chart-alarms', 'chart-capacity', 'chart-events'])
      assert.match(html, new RegExp(id));
  });
});
