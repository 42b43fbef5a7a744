// @ts-check
// A node:test reporter that writes one JSON line per finished test (not per suite): its file, name and outcome.
// scripts/run-tests.ts reads these lines to check that every test file really ran tests; node's own summary cannot
// tell a file whose tests all passed from a file that exited before it registered any. Plain JavaScript because
// node loads reporters before the `--import tsx` hook that would let it read TypeScript.

/**
 * @param {AsyncIterable<import('node:test/reporters').TestEvent>} source
 * @returns {AsyncGenerator<string>}
 */
export default async function* testCensus(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    // The runner reports a file that crashed, timed out or exited early as one "test" named after the file: kept
    // when it failed (a failure of the run), and the census does not count it as a test that ran.
    if (data.details.type === 'suite' || data.file === undefined) continue;
    if (data.name === data.file && event.type === 'test:pass') continue;
    const outcome = data.skip ? 'skip' : data.todo ? 'todo' : event.type === 'test:pass' ? 'pass' : 'fail';
    /** @type {import('./test-census').CensusLine} */
    const line = { file: data.file, name: data.name, outcome };
    yield `${JSON.stringify(line)}\n`;
  }
}
