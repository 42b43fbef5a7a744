import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import type { SamplerReport } from './server-sampler';

export type SamplerState = SamplerReport & { violations: { atMs: number; servers: string[] }[] };

/** Starts sampler-process.ts and follows its reports; resolves once the first report shows it is sampling. */
export async function startSamplerProcess(options: { dataDir: string; intervalMs: number }) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('./sampler-process.ts', import.meta.url).pathname,
      options.dataDir,
      String(options.intervalMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // A measuring instrument: scheduled ahead of the sidecars it watches when the machine is busy.
  if (child.pid) {
    try {
      setPriority(child.pid, -5);
    } catch {
      // not permitted: sample at normal priority
    }
  }
  let latest: SamplerState = { samples: 0, twoServerSamples: 0, maxGapMs: 0, violations: [] };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sampler exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      latest = JSON.parse(line) as SamplerState;
      resolve();
    });
  });
  return {
    latest: () => latest,
    async stop(): Promise<SamplerState> {
      child.kill('SIGTERM');
      await exited;
      return latest;
    },
  };
}
