import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServerSampler } from '../../chaos/server-sampler';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The negative control of the fault suite: the sampler must see two servers when there are two. Two stand-in
// "servers" (a sleep binary named postgres, so the kernel calls it that) work in one directory, each in a pid
// namespace of its own as each sidecar's PostgreSQL is.
describe('server sampler', () => {
  let root: string;
  let dataDir: string;
  let fakePostgres: string;
  const children: ChildProcess[] = [];

  before(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'cloudy-sampler-')));
    dataDir = join(root, 'pgdata');
    mkdirSync(dataDir);
    fakePostgres = join(root, 'postgres');
    copyFileSync('/bin/sleep', fakePostgres);
  });

  after(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  function startFakeServer(cwd: string): ChildProcess {
    const child = spawn('unshare', ['--pid', '--fork', '--kill-child', '--', fakePostgres, '30'], {
      cwd,
      stdio: 'ignore',
    });
    children.push(child);
    return child;
  }

  it('counts no two-server samples while one server works in the directory', async () => {
    // Prepare
    const one = startFakeServer(dataDir);
    startFakeServer(root); // elsewhere: not on the data directory
    const sampler = startServerSampler({ dataDir, intervalMs: 10 });
    // Act
    await sleep(300);
    const report = sampler.stop();
    one.kill('SIGKILL');
    // Assess
    assert.ok(report.samples > 5);
    assert.equal(report.twoServerSamples, 0);
  });

  it('counts the samples in which two servers work in the directory', async () => {
    // Prepare
    const sampler = startServerSampler({ dataDir, intervalMs: 10 });
    startFakeServer(dataDir);
    startFakeServer(dataDir);
    // Act
    await sleep(300);
    const report = sampler.stop();
    // Assess
    assert.ok(report.twoServerSamples > 5, `two servers seen in ${report.twoServerSamples} samples`);
  });
});
