import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type EnsureCheck, parseEnsureChecks } from './ensure-checks';
import type { LoadTestResult } from './load-test-result';
import { readLoadTestResult, writeReport } from './report/write-report';
import { type ScenarioName, scenarioFile } from './scenarios';

/** loadtest/ has a package of its own (see docs/LOADTEST.md); its artillery is what runs. */
export const ARTILLERY_BIN = fileURLToPath(new URL('../node_modules/.bin/artillery', import.meta.url));
export const DEFAULT_RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url));

export class ArtilleryNotInstalledError extends Error {}
export class ArtilleryFailedError extends Error {}

export interface RunScenarioOptions {
  scenario: ScenarioName;
  /** Base URL the scenario's paths are appended to. */
  target: string;
  /** Recorded in the result when the target came from a stage. */
  stage?: string;
  resultsDir: string;
  /** Where artillery's console output goes while it runs. */
  log: Writable;
  /** Ends artillery early (its result is then incomplete or absent). */
  signal?: AbortSignal;
  /** The artillery executable; by default the one `(cd loadtest && npm ci)` installs. */
  artilleryBin?: string;
}

export interface ScenarioRun {
  /** artillery's exit code: 0 when every strict `ensure` check held. */
  exitCode: number;
  checks: EnsureCheck[];
  resultFile: string;
  reportFile: string;
}

// The Checks block is the last thing artillery prints; the tail is enough to find it.
const OUTPUT_TAIL_CHARS = 64 * 1024;

/** Runs one scenario with artillery, then keeps its JSON result (with the verdict added) and the HTML report. */
export async function runScenario(options: RunScenarioOptions): Promise<ScenarioRun> {
  const bin = options.artilleryBin ?? ARTILLERY_BIN;
  if (!existsSync(bin)) {
    throw new ArtilleryNotInstalledError(
      `artillery is not installed at ${bin}: run \`(cd loadtest && npm ci)\` first`,
    );
  }
  const started = new Date();
  mkdirSync(options.resultsDir, { recursive: true });
  const resultFile = join(options.resultsDir, `${resultName(started, options.scenario, options.stage)}.json`);

  const child = spawn(
    bin,
    ['run', '--target', options.target, '--output', resultFile, scenarioFile(options.scenario)],
    {
      // artillery otherwise reports usage to its makers over the internet on every run.
      env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  let tail = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    options.log.write(chunk);
    tail = (tail + chunk).slice(-OUTPUT_TAIL_CHARS);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => options.log.write(chunk));
  const exitCode = await exitOf(child);

  if (!existsSync(resultFile)) {
    throw new ArtilleryFailedError(`artillery exited with code ${exitCode} without writing ${resultFile}`);
  }
  const checks = parseEnsureChecks(tail);
  const result: LoadTestResult = {
    ...readLoadTestResult(resultFile),
    run: {
      scenario: options.scenario,
      target: options.target,
      ...(options.stage ? { stage: options.stage } : {}),
      startedAt: started.toISOString(),
      exitCode,
      checks,
    },
  };
  writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
  return { exitCode, checks, resultFile, reportFile: writeReport(resultFile, result) };
}

/** `2026-05-04T10-20-30Z-scale-up-dev`: sorts by time, says what ran against which stage. */
export function resultName(started: Date, scenario: ScenarioName, stage?: string): string {
  const stamp = `${started.toISOString().slice(0, 19).replace(/:/g, '-')}Z`;
  return [stamp, scenario, stage].filter(Boolean).join('-');
}

async function exitOf(child: ReturnType<typeof spawn>): Promise<number> {
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (code !== null) return code;
  // Killed by a signal (Ctrl-C): report it the way a shell would.
  return 128 + (signal ? constants.signals[signal] : 0);
}
