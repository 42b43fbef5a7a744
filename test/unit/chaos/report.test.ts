import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addRunBetweenMarkers, markdownTable, percentile } from '../../chaos/report';
import { writeOutageMs } from '../../chaos/web-writer';

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
