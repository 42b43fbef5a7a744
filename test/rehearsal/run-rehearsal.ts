// One rehearsal from start to end: package the stage (real `sls package`), build the production bundle, start a
// real PostgreSQL, play the tier with the compressed scenario against it, then write the JSON timeline and the
// HTML report. Used by `npm run rehearse` and by the short rehearsal in npm test.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { LoadTestResult } from '../../loadtest/src/load-test-result';
import { runScenario } from '../../loadtest/src/run-scenario';
import { scenarioFile } from '../../loadtest/src/scenarios';
import { packageTemplate } from '../support/cloudformation/serverless-package';
import { startTestPostgres } from '../support/local-postgres';
import { checkCgroups, enterRunCgroup } from './instances';
import { type Fault, formatClock, rehearse, type Timeline } from './rehearsal';
import { type RehearsalSummary, reportData, summarize, writeRehearsalReport } from './report';
import { compressScenario } from './scenario';
import { readWebTier, type WebTierSpec } from './stage-template';
import { webTierTimings } from './timings';

const run = promisify(execFile);
const repositoryRoot = resolve(import.meta.dirname, '../..');

export type RehearsalScenario = 'scale-up' | 'mixed';

export interface RehearsalRequest {
  stage: string;
  params: Record<string, string>;
  scenario: RehearsalScenario;
  factor: number;
  vcpuShare: number;
  /** vCPU-seconds of one scale-up /load request on the instance type. */
  referenceRequestSeconds: number;
  faults: Fault[];
  /** AWS seconds to keep watching after the scenario ends. */
  tailAwsSeconds: number;
  resultsDir: string;
  /** A scenario file to play instead of loadtest/scenarios/<scenario>.yml (the short test's own phases). */
  scenarioText?: string;
  say: (line: string) => void;
}

export interface RehearsalResult {
  spec: WebTierSpec;
  timeline: Timeline;
  summary: RehearsalSummary;
  timelineFile: string;
  reportFile: string;
  artilleryExitCode: number | null;
}

export async function runRehearsal(request: RehearsalRequest): Promise<RehearsalResult> {
  checkCgroups();
  const { say } = request;
  const work = mkdtempSync(join(tmpdir(), 'cloudy-rehearsal-25-'));
  chmodSync(work, 0o755); // the instances run as nobody and read the bundle from here
  const cgroupParent = `cloudy-rehearsal-${process.pid}`;
  const leaveRunCgroup = enterRunCgroup(cgroupParent);
  let pg: Awaited<ReturnType<typeof startTestPostgres>> | undefined;
  try {
    say(
      `packaging stage ${request.stage} (sls package), building the production bundle, starting PostgreSQL`,
    );
    const bundleDir = join(work, 'dist');
    const [template] = await Promise.all([
      packageTemplate({ stage: request.stage, params: request.params }),
      run(process.execPath, ['--import', 'tsx', join(repositoryRoot, 'scripts/build.ts'), bundleDir], {
        cwd: repositoryRoot,
      }),
      startTestPostgres().then((started) => {
        pg = started;
      }),
    ]);
    const spec = readWebTier(template, request.stage);
    if (!pg) throw new Error('PostgreSQL did not start');
    const logDir = join(work, 'logs');
    mkdirSync(logDir, { recursive: true });
    chmodSync(logDir, 0o777);

    const source = request.scenarioText ?? readFileSync(scenarioFile(request.scenario), 'utf8');
    const scenarioPath = join(work, `${request.scenario}.yml`);
    mkdirSync(request.resultsDir, { recursive: true });
    const stamp = `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}Z`;
    const base = join(request.resultsDir, `${stamp}-rehearse-${request.scenario}-${request.stage}`);
    let artillery: { exitCode: number; resultFile: string; reportFile: string } | undefined;
    const artilleryLog = join(logDir, 'artillery.log');

    const timeline = await rehearse({
      spec,
      factor: request.factor,
      vcpuShare: request.vcpuShare,
      bundleDir,
      databaseUrl: pg.url,
      logDir,
      cgroupParent,
      faults: request.faults,
      tailAwsSeconds: request.tailAwsSeconds,
      say,
      referenceRequestSeconds: request.referenceRequestSeconds,
      load: async (url, rateScale) => {
        writeFileSync(scenarioPath, compressScenario(source, request.factor, rateScale).text);
        const chunks: string[] = [];
        artillery = await runScenario({
          scenario: request.scenario,
          scenarioPath,
          target: url,
          resultsDir: join(work, 'artillery'),
          log: new Writable({
            write(chunk, _encoding, done) {
              chunks.push(String(chunk));
              done();
            },
          }),
        });
        writeFileSync(artilleryLog, chunks.join(''));
      },
    });
    const artilleryResult = artillery
      ? (JSON.parse(readFileSync(artillery.resultFile, 'utf8')) as LoadTestResult)
      : null;
    const summary = summarize(timeline, request.scenario, spec.group.min);
    const timings = webTierTimings(spec);
    const facts: [string, string][] = [
      [
        'stage',
        `${request.stage} (${
          Object.entries(request.params)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || 'default parameters'
        })`,
      ],
      [
        'compression',
        `${request.factor}×: every template time and scenario phase divided by ${request.factor}`,
      ],
      [
        'instance',
        `${spec.instanceType} = ${timeline.quotaCores} host cores (cgroup cpu quota: ${request.vcpuShare} core per vCPU); ` +
          `one /load request ${timeline.hostRequestSeconds.toFixed(3)} host CPU-s here vs ${request.referenceRequestSeconds} vCPU-s there: ` +
          `scenario rates × ${timeline.rateScale.toFixed(3)}; request rates shown at AWS scale`,
      ],
      [
        'app',
        `WEB_PROCESSES=${spec.app.webProcesses}, DB_POOL_MAX=${spec.app.dbPoolMax}, /load threads = vCPUs`,
      ],
      ['policy', timeline.policy],
      ...Object.entries(timings).map(([name, t]): [string, string] => [
        name,
        `${t.awsSeconds} s (${t.source})`,
      ]),
      ['instance-minutes', String(summary.instanceMinutes)],
      ['CPU credits above baseline', `${summary.surplusVcpuMinutes} vCPU-minutes`],
      ['failures (not 2xx, not the app’s 503)', String(summary.failures)],
      ...timeline.rolling.map((r): [string, string] => [
        'rolling replacement',
        `${formatClock(r.fromT)}–${formatClock(r.toT)}: at least ${r.minInService} in service, ${r.minHealthy} healthy targets`,
      ]),
    ];
    writeFileSync(
      `${base}.json`,
      `${JSON.stringify({ request: { ...request, say: undefined, scenarioText: undefined }, spec, timings, summary, timeline, artillery: artilleryResult?.aggregate ?? null }, null, 1)}\n`,
    );
    writeRehearsalReport(`${base}.html`, reportData(timeline, summary, artilleryResult, facts));
    return {
      spec,
      timeline,
      summary,
      timelineFile: `${base}.json`,
      reportFile: `${base}.html`,
      artilleryExitCode: artillery?.exitCode ?? null,
    };
  } finally {
    await pg?.destroy();
    leaveRunCgroup();
    if (!process.env.KEEP_REHEARSAL_FILES) rmSync(work, { recursive: true, force: true });
    else say(`kept ${work}`);
  }
}
