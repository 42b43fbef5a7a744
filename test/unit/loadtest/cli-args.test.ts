import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCliArgs, parseTargetUrl, UsageError } from '../../../loadtest/src/cli-args';

describe('parseCliArgs', () => {
  it("runs smoke against a stage, in the session's region, when only --stage is given", () => {
    assert.deepEqual(parseCliArgs(['--stage', 'dev']), {
      command: 'run',
      scenario: 'smoke',
      target: { kind: 'stage', stage: 'dev' },
    });
  });

  it('takes the scenario and region with a stage', () => {
    assert.deepEqual(parseCliArgs(['--stage', 'prod-2', '--scenario', 'scale-up', '--region', 'us-east-1']), {
      command: 'run',
      scenario: 'scale-up',
      target: { kind: 'stage', stage: 'prod-2', region: 'us-east-1' },
    });
  });

  it('runs against any URL with --target, without a trailing slash', () => {
    assert.deepEqual(parseCliArgs(['--target', 'http://127.0.0.1:8080/', '--scenario=mixed']), {
      command: 'run',
      scenario: 'mixed',
      target: { kind: 'url', url: 'http://127.0.0.1:8080' },
    });
  });

  it('re-renders a report with --report', () => {
    assert.deepEqual(parseCliArgs(['--report', 'loadtest/results/x.json']), {
      command: 'report',
      resultFile: 'loadtest/results/x.json',
    });
  });

  it('shows help with --help or -h', () => {
    assert.deepEqual(parseCliArgs(['--help']), { command: 'help' });
    assert.deepEqual(parseCliArgs(['-h']), { command: 'help' });
  });

  const rejected: [string, string[], RegExp][] = [
    ['no target at all', [], /exactly one of --stage, --target or --report/],
    ['both a stage and a URL', ['--stage', 'dev', '--target', 'http://127.0.0.1'], /exactly one/],
    [
      'an unknown scenario',
      ['--stage', 'dev', '--scenario', 'soak'],
      /unknown scenario "soak".*smoke, mixed, scale-up/,
    ],
    [
      'a stage name CloudFormation cannot carry',
      ['--stage', 'dev_1'],
      /stage "dev_1" is not a valid stage name/,
    ],
    [
      'a region that is not one',
      ['--stage', 'dev', '--region', 'Ireland'],
      /region "Ireland" is not an AWS region/,
    ],
    [
      'a region without a stage',
      ['--target', 'http://127.0.0.1', '--region', 'eu-west-1'],
      /--region and --profile go with --stage/,
    ],
    [
      'a scenario with --report',
      ['--report', 'r.json', '--scenario', 'smoke'],
      /--report takes no --scenario/,
    ],
    ['an unknown option', ['--stage', 'dev', '--rate', '5'], /--rate/],
    ['a positional argument', ['dev'], /dev/],
    ['an option without its value', ['--stage'], /--stage/],
  ];
  for (const [what, argv, message] of rejected) {
    it(`rejects ${what} with a usage error`, () => {
      assert.throws(
        () => parseCliArgs(argv),
        (error: Error) => {
          assert.ok(error instanceof UsageError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});

describe('parseTargetUrl', () => {
  it('keeps a path prefix and https', () => {
    assert.equal(parseTargetUrl('https://example.com/lambda/'), 'https://example.com/lambda');
  });

  for (const raw of ['127.0.0.1:8080', 'ftp://example.com', 'http://127.0.0.1:8080/?x=1', 'not a url']) {
    it(`rejects ${raw}`, () => {
      assert.throws(() => parseTargetUrl(raw), UsageError);
    });
  }
});
