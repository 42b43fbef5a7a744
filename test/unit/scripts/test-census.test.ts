import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CensusLine, parseCensus, summariseCensus } from '../../../scripts/test-census';

const line = (file: string, outcome: CensusLine['outcome']): CensusLine => ({
  file,
  name: `t in ${file}`,
  outcome,
});

describe('summariseCensus', () => {
  it('counts outcomes and names no file when every file ran a test', () => {
    // Act
    const summary = summariseCensus(
      ['/a', '/b'],
      [line('/a', 'pass'), line('/a', 'fail'), line('/b', 'pass')],
    );

    // Assess
    assert.deepEqual(summary, { files: 2, passed: 2, failed: 1, skipped: 0, silentFiles: [] });
  });

  it('names a file that reported nothing', () => {
    // Act
    const summary = summariseCensus(['/a', '/b'], [line('/a', 'pass')]);

    // Assess
    assert.deepEqual(summary.silentFiles, ['/b']);
  });

  it('counts a failure of the whole file as a failure, and names the file as one that ran no test', () => {
    // Act
    const summary = summariseCensus(['/a'], [{ file: '/a', name: '/a', outcome: 'fail' }]);

    // Assess
    assert.equal(summary.failed, 1);
    assert.deepEqual(summary.silentFiles, ['/a']);
  });

  it('names a file whose only tests were skipped: it ran none', () => {
    // Act
    const summary = summariseCensus(['/a'], [line('/a', 'skip'), line('/a', 'todo')]);

    // Assess
    assert.deepEqual(summary.silentFiles, ['/a']);
    assert.equal(summary.skipped, 2);
  });
});

describe('parseCensus', () => {
  it('reads the reporter lines and ignores blank ones', () => {
    // Act
    const lines = parseCensus(`${JSON.stringify(line('/a', 'pass'))}\n\n`);

    // Assess
    assert.deepEqual(lines, [line('/a', 'pass')]);
  });

  it('rejects a line that is not a census line, quoting it', () => {
    assert.throws(() => parseCensus('{"file":"/a"}'), /not a test census line: \{"file":"\/a"\}/);
  });
});
