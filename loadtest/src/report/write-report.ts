import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type LoadTestResult, parseLoadTestResult } from '../load-test-result';
import { renderReportHtml } from './render-report';
import { shapeReportData } from './report-data';

/** `results/x.json` → `results/x.html` */
function reportFileFor(resultFile: string): string {
  return resultFile.replace(/(\.json)?$/, '.html');
}

export function readLoadTestResult(resultFile: string): LoadTestResult {
  return parseLoadTestResult(readFileSync(resultFile, 'utf8'), resultFile);
}

/** Renders the HTML report of a result file beside it; returns the report's path. */
export function writeReport(resultFile: string, result = readLoadTestResult(resultFile)): string {
  const title = result.run ? `Load test: ${result.run.scenario}` : `Load test: ${basename(resultFile)}`;
  const reportFile = reportFileFor(resultFile);
  writeFileSync(reportFile, renderReportHtml(shapeReportData(result, title)));
  return reportFile;
}
