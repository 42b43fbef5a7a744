import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRuntime, shippedNodeMajor } from '../../../scripts/runtime';

describe('describeRuntime', () => {
  it('reads the shipped major from serverless.yml', () => {
    // Act / Assess
    assert.equal(shippedNodeMajor('provider:\n  name: aws\n  runtime: nodejs24.x\n'), 24);
    assert.ok(Number.isInteger(shippedNodeMajor()));
  });

  it('says when a benchmark ran on another major than the one that ships', () => {
    // Act / Assess
    assert.equal(describeRuntime('v24.3.0', 24), 'Node v24.3.0 (the shipped runtime, nodejs24.x)');
    assert.match(
      describeRuntime('v20.19.0', 24),
      /^Node v20\.19\.0, NOT the shipped runtime \(nodejs24\.x\)/,
    );
  });
});
