import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { cpuUsageBetween, ProcFormatError, parseCpuTimes } from '../../../ec2/metrics/cpu-times';
import { parseMemoryInfo } from '../../../ec2/metrics/memory-info';

// Captured on a 2-core Linux 6.x machine five seconds apart (test/fixtures/proc/sample-N).
const fixture = (sample: number, file: string) =>
  readFileSync(new URL(`../../fixtures/proc/sample-${sample}/${file}`, import.meta.url), 'utf8');

describe('parseCpuTimes', () => {
  it('sums the aggregate cpu line into busy, iowait and total ticks', () => {
    // cpu  25101 609 7276 153998 1192 0 279 32 0 0
    assert.deepEqual(parseCpuTimes(fixture(1, 'stat')), { busy: 33297, ioWait: 1192, total: 188487 });
  });

  it('reads the aggregate line, not a per-core one', () => {
    // Prepare
    const stat = 'cpu0 1 1 1 1 1 1 1 1\ncpu  10 0 10 70 10 0 0 0 0 0\nintr 0\n';
    // Act / Assess
    assert.deepEqual(parseCpuTimes(stat), { busy: 20, ioWait: 10, total: 100 });
  });

  it('counts missing columns of older kernels as zero', () => {
    assert.deepEqual(parseCpuTimes('cpu  100 0 50 850\n'), { busy: 150, ioWait: 0, total: 1000 });
  });

  it('rejects text without a readable cpu line, naming the problem', () => {
    assert.throws(() => parseCpuTimes('intr 12\n'), ProcFormatError);
    assert.throws(() => parseCpuTimes('cpu  1 2 x 4\n'), /unreadable "cpu" line/);
  });
});

describe('cpuUsageBetween', () => {
  it('gives utilization and I/O wait over the interval between two captured readings', () => {
    // Act
    // 300 busy and 58 iowait ticks of 996.
    const usage = cpuUsageBetween(parseCpuTimes(fixture(1, 'stat')), parseCpuTimes(fixture(2, 'stat')));
    // Assess
    assert.deepEqual(usage, { utilizationPercent: 30.12, ioWaitPercent: 5.82 });
  });

  it('says nothing about an interval without elapsed ticks or with counters that went back', () => {
    // Act
    const reading = parseCpuTimes(fixture(2, 'stat'));
    // Assess
    assert.equal(cpuUsageBetween(reading, reading), undefined);
    assert.equal(cpuUsageBetween(reading, parseCpuTimes(fixture(1, 'stat'))), undefined);
  });

  it('reports a fully busy machine as 100 %', () => {
    // Act
    const usage = cpuUsageBetween(parseCpuTimes('cpu  0 0 0 0 0\n'), parseCpuTimes('cpu  150 0 50 0 0\n'));
    // Assess
    assert.deepEqual(usage, { utilizationPercent: 100, ioWaitPercent: 0 });
  });
});

describe('parseMemoryInfo', () => {
  it('counts memory as used unless the kernel reports it available', () => {
    assert.deepEqual(parseMemoryInfo(fixture(1, 'meminfo')), {
      totalBytes: 24_684_096 * 1024,
      availableBytes: 23_783_756 * 1024,
      utilizationPercent: 3.65,
    });
  });

  it('rejects meminfo without MemAvailable rather than guessing from MemFree', () => {
    assert.throws(
      () => parseMemoryInfo('MemTotal:       1000 kB\nMemFree:         500 kB\n'),
      /no MemAvailable/,
    );
  });
});
