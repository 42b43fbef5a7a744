import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { type ReportData, shapeReportData } from '../../../loadtest/src/report/report-data';
import { readLoadTestResult, writeReport } from '../../../loadtest/src/report/write-report';
import { headlessChromium } from '../../support/headless-chromium';

// A machine without a browser must fail here, not skip: the report's charts are only proven by a browser drawing
// them (test/support/headless-chromium.ts says where one comes from).
const SAMPLE = fileURLToPath(new URL('../../../loadtest/samples/scale-up-local.json', import.meta.url));
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The report is a local file: any request Chromium makes of its own goes to a closed loopback port and
  // no host name resolves, so nothing can leave this machine.
  '--proxy-server=127.0.0.1:9',
  '--host-resolver-rules=MAP * ~NOTFOUND',
];

interface DrawnChart {
  drawn: number;
  width: number;
  height: number;
  /** Points of each line, in SVG coordinates. */
  lines: { name: string; points: [number, number][] }[];
  bars: { x: number; y: number; width: number; height: number }[];
}

// Read through locators, in Node: the test's TypeScript has no DOM types to write browser code with.
async function readChart(page: Page, id: string): Promise<DrawnChart> {
  const figure = page.locator(`#${id}`);
  const box = await figure.locator('svg').boundingBox();
  const number = async (locator: Locator, name: string) => Number(await locator.getAttribute(name));
  const lines = await Promise.all(
    (await figure.locator('path.series').all()).map(async (path) => ({
      name: (await path.getAttribute('data-series')) ?? '',
      points: ((await path.getAttribute('d')) ?? '')
        .split(/[ML]/)
        .filter((pair) => pair.trim())
        .map((pair) => pair.split(',').map(Number) as [number, number]),
    })),
  );
  const bars = await Promise.all(
    (await figure.locator('rect.bar').all()).map(async (rect) => ({
      x: await number(rect, 'x'),
      y: await number(rect, 'y'),
      width: await number(rect, 'width'),
      height: await number(rect, 'height'),
    })),
  );
  return {
    drawn: await number(figure, 'data-drawn'),
    width: box?.width ?? 0,
    height: box?.height ?? 0,
    lines,
    bars,
  };
}

const countOf = (values: (number | null)[]) => values.filter((v) => v !== null && v > 0).length;

describe('the HTML report in headless Chromium', () => {
  let dir: string;
  let context: BrowserContext;
  let page: Page;
  let data: ReportData;
  const problems: string[] = [];
  const requests: string[] = [];

  before(async () => {
    const executablePath = await headlessChromium();
    dir = mkdtempSync(join(tmpdir(), 'cloudy-report-'));
    const resultFile = join(dir, 'scale-up-local.json');
    copyFileSync(SAMPLE, resultFile);
    const reportFile = writeReport(resultFile);
    data = shapeReportData(readLoadTestResult(resultFile), 'expected');

    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1040, height: 900 },
    });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // A blocked external fetch shows up here as a Content-Security-Policy violation.
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`file://${reportFile}`);
    await page.waitForSelector('body[data-charts-drawn="true"]', { timeout: 10_000 });
  });

  after(async () => {
    await context?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs its script without an error and loads nothing but the file itself', () => {
    assert.deepEqual(problems, []);
    assert.equal(requests.length, 1);
    assert.match(requests[0] ?? '', /^file:\/\/.*scale-up-local\.html$/);
  });

  it('draws requests per second as one line with a point per period', async () => {
    // Act
    const chart = await readChart(page, 'chart-throughput');

    // Assess
    assert.ok(chart.width > 500 && chart.height > 100, `chart is ${chart.width}×${chart.height}`);
    assert.equal(chart.lines.length, 1);
    assert.equal(chart.lines[0]?.points.length, data.times.length);
    assert.equal(chart.drawn, data.times.length);
  });

  it('draws p50, p95 and p99, the p99 line never below the p50 line', async () => {
    // Act
    const chart = await readChart(page, 'chart-latency');

    // Assess
    assert.deepEqual(
      chart.lines.map((line) => [line.name, line.points.length]),
      data.latencyMs.map((series) => [series.name, series.values.filter((v) => v !== null).length]),
    );
    const [p50, , p99] = chart.lines;
    // SVG's y grows downwards: a larger latency has a smaller y.
    p99?.points.forEach(([, y], index) => {
      assert.ok(y <= (p50?.points[index]?.[1] ?? Number.NaN), `p99 above p50 at point ${index}`);
    });
  });

  it('stacks a bar for each code in each period that had errors, inside the plot', async () => {
    // Act
    const chart = await readChart(page, 'chart-errors');
    const expected = data.errorsByCode.reduce((sum, series) => sum + countOf(series.values), 0);

    // Assess
    assert.ok(expected > 0, 'the sample has errors to draw');
    assert.equal(chart.bars.length, expected);
    for (const bar of chart.bars) {
      assert.ok(bar.height > 0 && bar.width > 0 && bar.y >= 0 && bar.y + bar.height <= 260);
    }
  });
});
