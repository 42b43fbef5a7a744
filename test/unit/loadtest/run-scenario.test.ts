import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArtilleryNotInstalledError, resultName, runScenario } from '../../../loadtest/src/run-scenario';

describe('resultName', () => {
  it('starts with the UTC start time, so that results sort by time, then names scenario and stage', () => {
    // Act
    const started = new Date('2026-05-04T10:20:30.456Z');

    // Assess
    assert.equal(resultName(started, 'scale-up', 'dev'), '2026-05-04T10-20-30Z-scale-up-dev');
    assert.equal(resultName(started, 'smoke'), '2026-05-04T10-20-30Z-smoke');
  });
});

describe('runScenario', () => {
  it('says how to install artillery when it is not installed, before starting anything', async () => {
    // Prepare
    const run = runScenario({
      scenario: 'smoke',
      target: 'http://127.0.0.1:9',
      resultsDir: '/nonexistent/results',
      log: process.stdout,
      artilleryBin: '/nonexistent/node_modules/.bin/artillery',
    });

    // Act / Assess
    await assert.rejects(run, (error: Error) => {
      assert.ok(error instanceof ArtilleryNotInstalledError);
      assert.match(error.message, /run `npm ci` in the project's root first/);
      return true;
    });
  });
});
