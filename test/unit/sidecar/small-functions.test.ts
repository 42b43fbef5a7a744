import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fenceStateOf } from '../../../ec2/sidecar/fence/instance-state';
import { descendantsOf, type ProcessInfo, parseStat } from '../../../ec2/sidecar/proc/process-table';
import { decideRoutes } from '../../../ec2/sidecar/promote/route-decisions';
import { addRunBetweenMarkers, markdownTable, percentile } from '../../chaos/report';
import { writeOutageMs } from '../../chaos/web-writer';

describe('fenceStateOf', () => {
  it('maps every EC2 state, and anything else to unknown', () => {
    // Prepare
    const table: [string | undefined, string][] = [
      ['stopped', 'stopped'],
      ['terminated', 'stopped'],
      ['not-found', 'unknown'],
      ['pending', 'running'],
      ['running', 'running'],
      ['stopping', 'running'],
      ['shutting-down', 'running'],
      ['hibernating', 'unknown'],
      [undefined, 'unknown'],
    ];
    // Act / Assess
    for (const [ec2State, expected] of table)
      assert.equal(fenceStateOf(ec2State), expected, String(ec2State));
  });
});

describe('decideRoutes', () => {
  it('replaces, creates, or leaves each table alone', () => {
    // Act / Assess
    assert.deepEqual(
      decideRoutes(
        [
          { routeTableId: 'a', route: { state: 'active', instanceId: 'i-self', otherTarget: undefined } },
          { routeTableId: 'b', route: { state: 'active', instanceId: 'i-old', otherTarget: undefined } },
          { routeTableId: 'c', route: { state: 'active', instanceId: undefined, otherTarget: 'eni-1' } },
          { routeTableId: 'd', route: undefined },
        ],
        'i-self',
      ),
      [
        { kind: 'in-sync', routeTableId: 'a' },
        { kind: 'replace', routeTableId: 'b' },
        { kind: 'replace', routeTableId: 'c' },
        { kind: 'create', routeTableId: 'd' },
      ],
    );
  });
});

describe('parseStat', () => {
  it('reads state and parent, even with spaces and parentheses in the name', () => {
    // Prepare
    const stat = '4242 (post gres) (x)) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 0 0';
    // Act / Assess
    assert.deepEqual(parseStat(stat), {
      pid: 4242,
      ppid: 17,
      state: 'S',
      comm: 'post gres) (x)',
    });
  });

  it('rejects text that is not a stat line', () => {
    // Act / Assess
    assert.equal(parseStat('garbage'), undefined);
  });
});

describe('descendantsOf', () => {
  it('follows parents, and not re-parented orphans', () => {
    // Prepare
    const p = (pid: number, ppid: number): ProcessInfo => ({
      pid,
      ppid,
      state: 'S',
      comm: 'x',
    });
    const all = [p(1, 0), p(10, 1), p(11, 10), p(12, 11), p(13, 1), p(20, 1)];
    // Act / Assess
    assert.deepEqual(
      descendantsOf(10, all).map((d) => d.pid),
      [11, 12],
    );
  });
});

describe('chaos report', () => {
  it('takes nearest-rank percentiles', () => {
    // Prepare
    const values = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    // Act / Assess
    assert.equal(percentile(values, 50), 5);
    assert.equal(percentile(values, 99), 10);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('pads table columns as the formatter does, so the generated file passes the lint', () => {
    // Act / Assess
    assert.equal(
      markdownTable(['fault', 'n'], [['sigkill-holder', '12']]),
      ['| fault          | n   |', '| -------------- | --- |', '| sigkill-holder | 12  |'].join('\n'),
    );
  });

  it('adds each run above the earlier ones, only between its markers', () => {
    // Prepare
    const text = '# Benchmarks\n\nweb\n<!-- chaos:start -->\nold\n<!-- chaos:end -->\ntail\n';
    // Act / Assess
    assert.equal(
      addRunBetweenMarkers(text, 'new'),
      '# Benchmarks\n\nweb\n<!-- chaos:start -->\nnew\n\nold\n<!-- chaos:end -->\ntail\n',
    );
    assert.match(
      addRunBetweenMarkers('# Benchmarks\n', 'new'),
      /<!-- chaos:start -->\nnew\n<!-- chaos:end -->\n$/,
    );
  });

  it('measures a write outage from the last acknowledgement before the fault to the first after the takeover', () => {
    // Prepare: acknowledged every 100 ms, then a write failing from 1000 to 3000, acknowledged again from 3100
    const attempts = [
      ...[100, 200, 300, 900].map((at) => ({ startMs: at - 10, endMs: at, acknowledged: true })),
      { startMs: 1000, endMs: 3000, acknowledged: false },
      { startMs: 3050, endMs: 3100, acknowledged: true },
      { startMs: 3150, endMs: 3200, acknowledged: true },
    ];
    // Act
    const outage = writeOutageMs(attempts, 950, 3000);
    const noWriteAfter = writeOutageMs(attempts, 950, 4000);
    // Assess
    assert.equal(outage, 2200);
    assert.equal(noWriteAfter, undefined);
  });
});
