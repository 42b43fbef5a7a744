// The real `sls package` with a wrong stage parameter: it stops before writing anything, with one line naming the
// parameter, the value and what is allowed, and without a JavaScript stack trace (resources/options.cjs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packageTemplate, ServerlessCommandError } from '../../support/cloudformation/serverless-package';

const cases: [string, Record<string, string>, string][] = [
  ['a typo in a parameter name', { wfa: 'on' }, 'stage parameter wfa is "on": expected no such parameter'],
  [
    'a value no fragment exists for',
    { waf: 'true' },
    'stage parameter waf is "true": expected "off" or "on"',
  ],
  [
    'a number that is not one',
    { webMinSize: 'abc' },
    'stage parameter webMinSize is "abc": expected a whole number from 1 to 100',
  ],
];

describe('sls package refuses a wrong stage parameter', { concurrency: true }, () => {
  for (const [what, params, line] of cases) {
    it(`refuses ${what} in one line, without a stack trace`, async () => {
      // Act / Assess
      await assert.rejects(packageTemplate({ stage: 'params', params }), (error: unknown) => {
        assert.ok(error instanceof ServerlessCommandError);
        const printed = error.output.stdout + error.output.stderr;
        assert.ok(printed.includes(line), printed);
        assert.doesNotMatch(printed, /^\s+at /m, 'no stack trace');
        return true;
      });
    });
  }
});
