import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SIDECAR_EVENTS } from '../../../ec2/sidecar/log-events';

describe('SIDECAR_EVENTS', () => {
  it('is the event list docs/DATABASE-TIER.md gives operators, name for name and in order', () => {
    // Prepare
    const doc = readFileSync(new URL('../../../docs/DATABASE-TIER.md', import.meta.url), 'utf8');
    const start = doc.indexOf('one `event` per step');
    const end = doc.indexOf("PostgreSQL's own log lines", start);
    assert.ok(start >= 0 && end > start, 'the event list is where the log paragraph says');

    // Act
    const listed = [...doc.slice(doc.indexOf('):', start), end).matchAll(/`([a-z-]+)`/g)].map(
      (match) => match[1],
    );

    // Assess
    assert.deepEqual(listed, [...SIDECAR_EVENTS]);
  });
});
