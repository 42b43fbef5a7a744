import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type EnsureCheck, parseEnsureChecks } from './ensure-checks';
import type { LoadTestResult } from './load-test-result';
import { readLoadTestResult, writeReport } from './report/write-report';
import { type ScenarioName, scenarioFile } from './scenarios';

/**
 * The artillery executable that the root `npm ci` installed for the loadtest workspace, found the way Node resolves
 * it from this package (npm may hoist it to the root's node_modules or keep it in the workspace's); undefined when
 * artillery is not installed.
 */
function installedArtilleryBin(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('artillery/package.json');
    const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: { artillery: string } };
    return join(dirname(manifest), bin.artillery);
  } catch {
    return undefined;
  }
}
export const DEFAULT_RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url));

export class ArtilleryNotInstalledError extends Error {
  override readonly name = 'ArtilleryNotInstalledError';
}
class ArtilleryFailedError extends Error {
  override readonly name = 'ArtilleryFailedError';
}

interface RunScenarioOptions {
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
  /** The artillery executable; by default the one the root `npm ci` installs. */
  artilleryBin?: string;
  /** A derived scenario file (the rehearsal's compressed copy) instead of loadtest/scenarios/<scenario>.yml. */
  scenarioPath?: string;
}

interface ScenarioRun {
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
  const bin = options.artilleryBin ?? installedArtilleryBin();
  if (bin === undefined || !existsSync(bin)) {
    throw new ArtilleryNotInstalledError(
      `artillery is not installed${bin ? ` at ${bin}` : ''}: run \`npm ci\` in the project's root first`,
    );
  }
  const started = new Date();
  mkdirSync(options.resultsDir, { recursive: true });
  const resultFile = join(options.resultsDir, `${resultName(started, options.scenario, options.stage)}.json`);

  const child = spawn(
    bin,
    [
      'run',
      '--target',
      options.target,
      '--output',
      resultFile,
      options.scenarioPath ?? scenarioFile(options.scenario),
    ],
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
