// `npm run bench`: the web app (as it runs on an instance: one HTTP process per core, worker threads for
// /load) on a real embedded PostgreSQL, driven by autocannon from this same machine over 127.0.0.1.
// Then GET /users with 100, 10,000 and 1,000,000 rows in the table (the list's cost must not grow with it).
// Writes its tables into docs/BENCHMARKS.md between the web-bench markers. A benchmark, not a test.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { readCommandLine } from '../shared/command-line';
import { createLocalPostgres } from '../shared/embedded-postgres';
import { freePort } from '../test/support/local-postgres';
import { describeRuntime } from './runtime';

const { values: options } = readCommandLine({
  name: 'bench',
  usage: `usage: npm run bench [-- --no-write]

The web app as on an instance (one HTTP process per core, worker threads for /load) on a real embedded
PostgreSQL, driven by autocannon over 127.0.0.1: each endpoint's requests/s and latency, then GET /users as the
table grows to 1,000,000 rows. A benchmark, not a test: it takes a few minutes and wants a quiet machine.
The tables go into docs/BENCHMARKS.md between the web-bench markers.

  --no-write   print the tables, leave docs/BENCHMARKS.md alone
BENCH_SECONDS sets each row's duration (default 10).`,
  options: { 'no-write': { type: 'boolean', default: false } },
});
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;
const PRIME = 112_272_535_095_293;
const REPORT = 'docs/BENCHMARKS.md';
const START = '<!-- web-bench:start -->';
const END = '<!-- web-bench:end -->';
const TABLE_SIZES = [100, 10_000, 1_000_000];
const GROWTH_SECONDS = 5;

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  target: string;
  met: boolean;
}

interface GrowthRow {
  tableRows: number;
  page: string;
  p50: number;
  p99: number;
  bytes: number;
}

function say(line: string) {
  process.stdout.write(`${line}\n`);
}

async function startApp(databaseUrl: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'web/main-instance.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 100; i += 1) {
    const up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error('the web app did not start');
}

function cannon(options: autocannon.Options): Promise<autocannon.Result> {
  return autocannon({ duration: DURATION_S, connections: CONNECTIONS, ...options });
}

function row(
  name: string,
  result: autocannon.Result,
  target: string,
  met: (r: autocannon.Result) => boolean,
): Row {
  const errors = result.errors + result.timeouts + result.non2xx;
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors,
    target,
    met: errors === 0 && met(result),
  };
}

async function main() {
  say(describeRuntime());
  const parent = mkdtempSync(join(tmpdir(), 'cloudy-bench-'));
  chmodSync(parent, 0o755);
  const pg = await createLocalPostgres({ dataDir: join(parent, 'data'), port: await freePort() });
  await pg.start();
  const port = await freePort();
  const app = await startApp(pg.url, port);
  const base = `http://127.0.0.1:${port}`;
  const rows: Row[] = [];
  const growth: GrowthRow[] = [];
  try {
    for (let i = 0; i < 100; i += 1) {
      await fetch(`${base}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `seed${i}`, email: `seed${i}@example.com` }),
      });
    }
    await cannon({ url: `${base}/`, duration: 3 }); // warm-up: JIT, pools, connections

    say('GET / ...');
    rows.push(
      row('GET /', await cannon({ url: `${base}/` }), '≥ 10,000 req/s', (r) => r.requests.average >= 10_000),
    );

    say('GET /users (100 rows) ...');
    rows.push(
      row(
        'GET /users (100 rows)',
        await cannon({ url: `${base}/users` }),
        '≥ 3,000 req/s',
        (r) => r.requests.average >= 3_000,
      ),
    );

    say('POST /users ...');
    let next = 0;
    const post = await cannon({
      url: `${base}/users`,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => {
            next += 1;
            return {
              ...request,
              body: JSON.stringify({ username: `bench${next}`, email: `bench${next}@example.com` }),
            };
          },
        },
      ],
    });
    rows.push(row('POST /users', post, '≥ 2,000 req/s', (r) => r.requests.average >= 2_000));

    say('prime check ...');
    const times: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const body = (await (await fetch(`${base}/load?number=${PRIME}`)).json()) as { processingTime: number };
      times.push(body.processingTime * 1000);
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length / 2)] ?? Number.NaN;
    const p99 = times.at(-1) ?? Number.NaN;
    rows.push({
      name: `prime check of ${PRIME} (20 sequential, compute ms)`,
      rps: Math.round(1000 / p50),
      p50: Math.round(p50 * 10) / 10,
      p99: Math.round(p99 * 10) / 10,
      errors: 0,
      target: '≤ 50 ms',
      met: p50 <= 50,
    });

    say('GET /health while /load saturates every core ...');
    const saturate = cannon({ url: `${base}/load?number=${PRIME}`, connections: 4 * availableParallelism() });
    const health = await cannon({ url: `${base}/health`, connections: 2, overallRate: 100 });
    const saturation = await saturate;
    rows.push(row('GET /health while /load saturates', health, 'p99 ≤ 50 ms', (r) => r.latency.p99 <= 50));
    rows.push(row('GET /load (saturating, 4 clients per core)', saturation, 'no errors', () => true));

    for (const size of TABLE_SIZES) {
      say(`GET /users with ${size} rows in the table ...`);
      await seedUsers(pg.url, size);
      for (const [page, path] of [
        ['first', '/users'],
        ['last', `/users?after=${size - 100}`],
      ] as const) {
        const bytes = (await (await fetch(`${base}${path}`)).arrayBuffer()).byteLength;
        // One client, one request at a time: the latency of a call, not of a queue.
        const result = await cannon({ url: `${base}${path}`, connections: 1, duration: GROWTH_SECONDS });
        if (result.errors + result.timeouts + result.non2xx > 0) throw new Error(`GET ${path} failed`);
        growth.push({ tableRows: size, page, p50: result.latency.p50, p99: result.latency.p99, bytes });
      }
    }
  } finally {
    app.kill('SIGTERM');
    await once(app, 'exit');
    await pg.stop();
    rmSync(parent, { recursive: true, force: true });
  }
  writeReport(rows, growth);
}

/** Replaces the users with `count` generated ones, ids 1..count, in one statement. */
async function seedUsers(databaseUrl: string, count: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('truncate users restart identity');
    await client.query(
      `insert into users (username, email)
         select 'user' || g, 'user' || g || '@example.com' from generate_series(1, $1::int) g`,
      [count],
    );
    await client.query('vacuum analyze users');
  } finally {
    await client.end();
  }
}

function writeReport(rows: Row[], growth: GrowthRow[]) {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const table = [
    '| measurement | req/s | p50 ms | p99 ms | errors | target | met |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.target} | ${r.met ? 'yes' : '**no**'} |`,
    ),
  ].join('\n');
  const growthTable = [
    '| rows in the table | page | p50 ms | p99 ms | response bytes |',
    '| ---: | --- | ---: | ---: | ---: |',
    ...growth.map(
      (g) => `| ${g.tableRows.toLocaleString('en-US')} | ${g.page} 100 | ${g.p50} | ${g.p99} | ${g.bytes} |`,
    ),
  ].join('\n');
  const section = [
    START,
    '## Web app',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${availableParallelism()} cores (${cpu}),`,
    `${Math.round(totalmem() / 2 ** 30)} GiB, ${describeRuntime()}, with \`npm run bench\`: the app as on an instance`,
    `(${availableParallelism()} HTTP processes, ${availableParallelism()} /load threads, request logs at info), a real`,
    `PostgreSQL from embedded-postgres, autocannon on the same machine over 127.0.0.1, ${CONNECTIONS} connections,`,
    `${DURATION_S} s per row. The prime-check row gives the computation time reported by the endpoint.`,
    '',
    table,
    '',
    `GET /users (limit 100) as the table grows: one client, ${GROWTH_SECONDS} s per row; the last page is`,
    '`after=<rows − 100>`.',
    '',
    growthTable,
    END,
  ].join('\n');
  const current = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : '# Benchmarks\n';
  const updated = current.includes(START)
    ? current.replace(new RegExp(`${START}[\\s\\S]*${END}`), section)
    : `${current.trimEnd()}\n\n${section}\n`;
  if (!options['no-write']) writeFileSync(REPORT, updated);
  say(table);
  say(growthTable);
}

await main();
