// `npm run bake-ami -- --stage NAME`: builds the bundle and bakes the project's AMI (docs/WEB-INSTANCES.md).
// Ctrl-C stops the bake and cleans up what it created; a second Ctrl-C does not cut the cleanup short.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AwsSession, explainAwsError, resolveAwsSession } from '../shared/command-aws';
import { exitWithUsage, readCommandLine, UsageError } from '../shared/command-line';
import { createBakeClients } from './bake-ami/aws-clients';
import { bakeAmi } from './bake-ami/bake';
import { buildBundle } from './bake-ami/bundle';
import { BAKE_AMI, bakeOptions } from './bake-ami/options';
import { presignS3 } from './bake-ami/presign';
import { BakeInterruptedError } from './bake-ami/wait';

const say = (message: string) => process.stdout.write(`[bake-ami] ${message}\n`);
const projectRoot = new URL('..', import.meta.url).pathname;

const { values } = readCommandLine(BAKE_AMI);
let session: AwsSession | undefined;
try {
  session = await resolveAwsSession(values);
  const options = bakeOptions(values, session);
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) return say('still cleaning up, please wait');
    say('interrupted: stopping and cleaning up');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  say(`building the bundle for stage ${options.stage} (${options.architecture}, ${options.region})`);
  const bundle = buildBundle(projectRoot);
  const result = await bakeAmi(
    {
      ...options,
      bundle: bundle.archive,
      bundleSha256: bundle.sha256,
      script: readFileSync(new URL('../userdata/bake-ami.sh', import.meta.url), 'utf8'),
      ...revision(),
    },
    {
      clients: createBakeClients(session),
      presign: presignS3,
      signal: controller.signal,
      onProgress: say,
    },
  );
  say(`done: ${result.imageId} (from ${result.baseImageId}) is in ${result.parameterName}`);
  // --force: the template names only the SSM parameter, so without it osls finds nothing changed and skips the
  // update in which CloudFormation would read the parameter's new value (docs/DEPLOY.md, "Rolling out a new AMI").
  say(`next: npx sls deploy --stage ${options.stage} --force   (rolls the new AMI out to both tiers)`);
  process.exit(0);
} catch (error) {
  if (error instanceof BakeInterruptedError) {
    say('interrupted; cleaned up');
    process.exit(130);
  }
  if (error instanceof UsageError) exitWithUsage(BAKE_AMI, error);
  const explained = session && explainAwsError(error, session);
  process.stderr.write(`[bake-ami] ${explained ?? explain(error)}\n`);
  process.exit(1);
}

function revision(): { revision?: string } {
  try {
    return { revision: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim() };
  } catch {
    return {};
  }
}

/** The error's message and the chain of causes under it (an SDK error's name says most). */
function explain(error: unknown): string {
  let text = error instanceof Error ? error.message : String(error);
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause instanceof Error) {
    text += `\n  caused by ${cause.name}: ${cause.message}`;
    cause = cause.cause;
  }
  return text;
}
