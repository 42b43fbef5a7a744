import { z } from 'zod';

// artillery's JSON result (`artillery run --output`): an aggregate over the whole run and one entry per
// 10-second period. Only the parts the report reads are checked; the rest passes through untouched.

const summary = z.looseObject({
  count: z.number(),
  min: z.number(),
  max: z.number(),
  p50: z.number(),
  p95: z.number(),
  p99: z.number(),
});

const period = z.looseObject({
  /** Start of the period, epoch milliseconds (the aggregate's is the run's). */
  period: z.coerce.number(),
  counters: z.record(z.string(), z.number()).default({}),
  rates: z.record(z.string(), z.number()).default({}),
  summaries: z.record(z.string(), summary).default({}),
  firstMetricAt: z.number().optional(),
  lastMetricAt: z.number().optional(),
});

/** What the runner adds to artillery's result: what ran, against what, and the verdict. */
const runInfo = z.object({
  scenario: z.string(),
  target: z.string(),
  stage: z.string().optional(),
  startedAt: z.string(),
  /** artillery's exit code: 0 when every strict `ensure` check held. */
  exitCode: z.number().int(),
  checks: z.array(z.object({ passed: z.boolean(), check: z.string(), optional: z.boolean() })),
});

const loadTestResult = z.looseObject({
  aggregate: period,
  intermediate: z.array(period),
  run: runInfo.optional(),
});

export type PeriodMetrics = z.infer<typeof period>;
export type RunInfo = z.infer<typeof runInfo>;
export type LoadTestResult = z.infer<typeof loadTestResult>;

export class ResultFormatError extends Error {
  override readonly name = 'ResultFormatError';
}

/** Parses a result file's text; throws naming the first field that is not what artillery writes. */
export function parseLoadTestResult(text: string, source: string): LoadTestResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ResultFormatError(`${source} is not JSON`, { cause });
  }
  const parsed = loadTestResult.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') || '(top level)';
    throw new ResultFormatError(
      `${source} is not an artillery result: ${where}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
