// Which Node.js a benchmark ran on, against the one that ships (serverless.yml provider.runtime: the Lambda
// functions; the AMI installs the same major for the instances). Benchmarks print it and write it beside their
// figures, so a number taken on another major says so.
import { readFileSync } from 'node:fs';

export function shippedNodeMajor(
  serverlessYml = readFileSync(new URL('../serverless.yml', import.meta.url), 'utf8'),
) {
  const major = /^\s+runtime: nodejs(\d+)\.x$/m.exec(serverlessYml)?.[1];
  if (!major) throw new Error('serverless.yml: no provider.runtime nodejsNN.x');
  return Number(major);
}

/** "Node v24.3.0 (the shipped runtime)", or a warning naming both majors. */
export function describeRuntime(version = process.version, shipped = shippedNodeMajor()): string {
  const major = Number(/^v(\d+)/.exec(version)?.[1]);
  return major === shipped
    ? `Node ${version} (the shipped runtime, nodejs${shipped}.x)`
    : `Node ${version}, NOT the shipped runtime (nodejs${shipped}.x): these figures do not describe production`;
}
