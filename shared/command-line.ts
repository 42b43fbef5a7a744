// The command-line convention of every command a person runs (npm run db, bake-ami, bench, build, chaos,
// loadtest, start, the test runner): `--help` (or `-h`) anywhere before `--` prints the usage to stdout and exits 0
// having done nothing else; an unknown option, a missing value or a bad argument prints what is wrong and the usage
// to stderr and exits 2 (the shell's usage-error status, as getopt-based tools do). Options are parsed by
// node:util parseArgs in strict mode, so an option nobody declared is never silently ignored.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** The name errors are prefixed with, e.g. `db`. */
  name: string;
  /** The whole help text, starting with `usage: ...`; printed for --help and under every usage error. */
  usage: string;
  /** The options, without --help (every command has it). */
  options: O;
  /** Whether bare words are allowed (sub-commands, folders); commands check how many they take. */
  allowPositionals?: boolean;
}

/** A command line that cannot be run as given: exit status 2, with the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The parsed options and positionals of a command line, typed from its spec. */
export type CommandLine<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>;

export type ParseOutcome<O extends ParseArgsOptionsConfig> =
  | { help: true }
  | ({ help: false } & CommandLine<O>);

/** Pure: the parsed command line, `{ help: true }`, or a UsageError naming what is wrong. */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
  argv: readonly string[],
): ParseOutcome<O> {
  // --help wins over any other mistake on the line: whoever asks for help gets it, not an error.
  const beforeTerminator = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (beforeTerminator.some((arg) => arg === '--help' || arg === '-h')) return { help: true };
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: spec.options,
      allowPositionals: spec.allowPositionals ?? false,
      strict: true,
    }) as CommandLine<O>;
    return { help: false, ...parsed };
  } catch (error) {
    // parseArgs's messages go on about '--' after the first sentence; the first names the problem.
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\. To specify a positional argument[\s\S]*$/, ''), {
      cause: error,
    });
  }
}

/** Where a command writes and how it ends; process's own by default, a recorder in tests. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  exit: (code: number) => never;
}

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
};

/**
 * The command line of a running command: returns the parsed options, or answers --help (exit 0) or a usage
 * error (exit 2) and ends the process before the command does anything. Call it first, before any work.
 */
export function readCommandLine<O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
  argv: readonly string[] = process.argv.slice(2),
  io: CommandIo = processIo,
): CommandLine<O> {
  let outcome: ParseOutcome<O>;
  try {
    outcome = parseCommandLine(spec, argv);
  } catch (error) {
    return exitWithUsage(spec, error as UsageError, io);
  }
  if (outcome.help) {
    io.stdout(`${spec.usage.trimEnd()}\n`);
    return io.exit(0);
  }
  const { help: _help, ...commandLine } = outcome;
  return commandLine as CommandLine<O>;
}

/** A usage error found after parsing (a missing --stage, a bad value): the message, the usage, exit 2. */
export function exitWithUsage(
  spec: Pick<CommandSpec<ParseArgsOptionsConfig>, 'name' | 'usage'>,
  error: UsageError,
  io: CommandIo = processIo,
): never {
  io.stderr(`${spec.name}: ${error.message}\n\n${spec.usage.trimEnd()}\n`);
  return io.exit(2);
}

/** A numeric option's value, at least `min`; a UsageError naming the option otherwise. */
export function numberOption(
  name: string,
  raw: string | boolean | undefined,
  min = Number.NEGATIVE_INFINITY,
): number {
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value < min) {
    throw new UsageError(
      `--${name} ${String(raw)}: a number${min > Number.NEGATIVE_INFINITY ? ` ≥ ${min}` : ''}`,
    );
  }
  return value;
}
