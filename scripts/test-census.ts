/** One finished test, as scripts/test-census-reporter.mjs writes it. */
export interface CensusLine {
  file: string;
  name: string;
  outcome: 'pass' | 'fail' | 'skip' | 'todo';
}

interface CensusSummary {
  files: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Test files that ran no test to an outcome: they registered none, or exited before reporting any. */
  silentFiles: string[];
}

/** What the run's census says about the files it was given: counts, and the files that contributed no test. */
export function summariseCensus(files: readonly string[], lines: readonly CensusLine[]): CensusSummary {
  // A line named after its file is the runner's report of the whole file failing (it crashed or timed out): a
  // failure, but not a test that ran.
  const ran = new Set(
    lines
      .filter((l) => l.name !== l.file && (l.outcome === 'pass' || l.outcome === 'fail'))
      .map((l) => l.file),
  );
  const count = (outcome: CensusLine['outcome']) => lines.filter((l) => l.outcome === outcome).length;
  return {
    files: files.length,
    passed: count('pass'),
    failed: count('fail'),
    skipped: count('skip') + count('todo'),
    silentFiles: files.filter((file) => !ran.has(file)),
  };
}

/** Parses the reporter's JSON lines; a line that is not one is an error naming it (the census must be whole). */
export function parseCensus(text: string): CensusLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const parsed = JSON.parse(line) as Partial<CensusLine>;
      if (
        typeof parsed.file !== 'string' ||
        typeof parsed.name !== 'string' ||
        typeof parsed.outcome !== 'string'
      )
        throw new Error(`not a test census line: ${line}`);
      return parsed as CensusLine;
    });
}
