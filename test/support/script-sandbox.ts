import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** What a stub's shell body may refer to: the scratch root, the call log, and failure counters. */
interface StubContext {
  root: string;
  log: string;
  /** A shell line that exits with `exitCode` while the counter `name` is above zero, counting it down. */
  failWhileCounting(name: string, exitCode: number): string;
}

interface ScriptSandboxOptions {
  /** Absolute path of the script under test. */
  script: string;
  /** Prefix of the scratch folder's name in the temp folder. */
  prefix: string;
  /**
   * Stubs, name → shell body. A bare name is a command in a folder put first on PATH; a name with a slash
   * is a program at that path under the root (the script finds it through CLOUDY_ROOT). Every stub first
   * appends its name and arguments to the call log.
   */
  stubs: Record<string, string | ((context: StubContext) => string)>;
  /** Files to create under the root before the run, path → content. */
  files?: Record<string, string>;
  /** Settings every run gets, besides PATH and CLOUDY_ROOT. */
  env?: Record<string, string>;
  /** Settings a run gets when it is given none (what the template's prelude exports). */
  prelude?: Record<string, string>;
}

export interface ScriptSandbox {
  root: string;
  /** The stubs' command lines, in the order they ran. */
  calls(): string[];
  clearCalls(): void;
  file(path: string): string;
  mode(path: string): number;
  /** The stubs that check counter `name` fail their next `count` calls. */
  failNext(name: string, count: number): void;
  run(prelude?: Record<string, string>): SpawnSyncReturns<string>;
  remove(): void;
}

/**
 * A scratch machine for a userdata script: a temporary root, stubs for every command that would change
 * the machine or reach the network, and a run of the script with bash whose PATH finds the stubs first.
 */
export function createScriptSandbox(options: ScriptSandboxOptions): ScriptSandbox {
  const root = mkdtempSync(join(tmpdir(), options.prefix));
  const bin = join(root, 'stub-bin');
  const log = join(root, 'calls.log');
  const counter = (name: string) => join(root, `${name}-failures`);
  const context: StubContext = {
    root,
    log,
    failWhileCounting: (name, exitCode) =>
      `n=$(cat "${counter(name)}" 2>/dev/null || echo 0); if [ "$n" -gt 0 ]; then echo $((n - 1)) >"${counter(name)}"; exit ${exitCode}; fi`,
  };
  const write = (path: string, content: string) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  };
  for (const [path, content] of Object.entries(options.files ?? {})) write(join(root, path), content);
  for (const [name, body] of Object.entries(options.stubs)) {
    const path = name.includes('/') ? join(root, name) : join(bin, name);
    const text = typeof body === 'function' ? body(context) : body;
    write(path, `#!/bin/bash\necho "$(basename "$0") $*" >>"${log}"\n${text}\n`);
    chmodSync(path, 0o755);
  }
  return {
    root,
    calls: () => readFileSync(log, 'utf8').trim().split('\n'),
    clearCalls: () => writeFileSync(log, ''),
    file: (path) => readFileSync(join(root, path), 'utf8'),
    mode: (path) => statSync(join(root, path)).mode & 0o777,
    failNext: (name, count) => writeFileSync(counter(name), String(count)),
    run: (prelude = options.prelude ?? {}) =>
      spawnSync('bash', [options.script], {
        encoding: 'utf8',
        env: { PATH: `${bin}:/usr/bin:/bin`, CLOUDY_ROOT: root, ...options.env, ...prelude },
      }),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
