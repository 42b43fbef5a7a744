import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CommandIo,
  exitWithUsage,
  numberOption,
  parseCommandLine,
  readCommandLine,
  UsageError,
} from '../../../shared/command-line';

const SPEC = {
  name: 'demo',
  usage: 'usage: demo --stage NAME [--json]\n\n  --stage NAME   the stage',
  options: { stage: { type: 'string' }, json: { type: 'boolean', default: false } },
} as const;

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function recorder(): CommandIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
    exit: (code: number): never => {
      throw new Exit(code);
    },
  };
  return io;
}

describe('parseCommandLine', () => {
  it('returns the typed options and positionals', () => {
    // Act
    const outcome = parseCommandLine(SPEC, ['--stage', 'dev', '--json']);
    // Assess
    assert.ok(!outcome.help);
    assert.deepEqual({ ...outcome.values }, { stage: 'dev', json: true });
    assert.deepEqual(outcome.positionals, []);
  });

  it('answers --help or -h anywhere before --, even beside a mistake', () => {
    assert.deepEqual(parseCommandLine(SPEC, ['--help']), { help: true });
    assert.deepEqual(parseCommandLine(SPEC, ['--stage', 'dev', '-h']), { help: true });
    assert.deepEqual(parseCommandLine(SPEC, ['--bogus', '--help']), { help: true });
  });

  it('treats --help after -- as an argument, not a request for help', () => {
    assert.throws(() => parseCommandLine(SPEC, ['--', '--help']), UsageError);
  });

  it('rejects an unknown option, a missing value and a stray word, naming the problem in one sentence', () => {
    assert.throws(() => parseCommandLine(SPEC, ['--colour']), {
      name: 'UsageError',
      message: "Unknown option '--colour'",
    });
    assert.throws(() => parseCommandLine(SPEC, ['--stage']), /--stage/);
    assert.throws(() => parseCommandLine(SPEC, ['status']), UsageError);
  });

  it('takes words only where the command allows them', () => {
    // Act
    const outcome = parseCommandLine({ ...SPEC, allowPositionals: true }, ['dist', '--json']);
    // Assess
    assert.ok(!outcome.help);
    assert.deepEqual(outcome.positionals, ['dist']);
  });
});

describe('readCommandLine', () => {
  it('prints the usage to stdout and exits 0 on --help, before the command does anything', () => {
    // Prepare
    const io = recorder();
    // Act / Assess
    assert.throws(() => readCommandLine(SPEC, ['--help'], io), new Exit(0));
    assert.equal(io.out, `${SPEC.usage}\n`);
    assert.equal(io.err, '');
  });

  it('prints the problem and the usage to stderr and exits 2 on an unknown option', () => {
    // Prepare
    const io = recorder();
    // Act / Assess
    assert.throws(() => readCommandLine(SPEC, ['--stage', 'dev', '--colour'], io), new Exit(2));
    assert.equal(io.out, '');
    assert.equal(io.err, `demo: Unknown option '--colour'\n\n${SPEC.usage}\n`);
  });

  it('returns the command line when it is right', () => {
    // Act
    const { values, positionals } = readCommandLine(SPEC, ['--stage', 'dev'], recorder());
    // Assess
    assert.deepEqual({ ...values }, { stage: 'dev', json: false });
    assert.deepEqual(positionals, []);
  });
});

describe('exitWithUsage', () => {
  it('gives a later check (a missing --stage) the same form and status as a parse error', () => {
    // Prepare
    const io = recorder();
    // Act / Assess
    assert.throws(() => exitWithUsage(SPEC, new UsageError('--stage is required'), io), new Exit(2));
    assert.equal(io.err, `demo: --stage is required\n\n${SPEC.usage}\n`);
  });
});

describe('numberOption', () => {
  it('reads a number at least the minimum, and names the option otherwise', () => {
    assert.equal(numberOption('cycles', '12', 1), 12);
    assert.throws(() => numberOption('cycles', 'ten', 1), {
      name: 'UsageError',
      message: '--cycles ten: a number ≥ 1',
    });
    assert.throws(() => numberOption('cycles', '0', 1), UsageError);
    assert.throws(() => numberOption('cycles', '', 1), UsageError);
  });
});
