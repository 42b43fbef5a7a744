import { type CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';

/** resources/web.yml: the ALB's http://<dns>:8080, the listener the web tier answers on. */
const LOAD_BALANCER_OUTPUT = 'LoadBalancerUrl';

/** serverless.yml names each stage's stack `${service}-${stage}`. */
function stackNameOf(stage: string): string {
  return `cloudy-${stage}`;
}

/** The stage has no stack (never deployed, removed, or another region): a configuration error, not transient. */
export class StageNotDeployedError extends Error {
  override readonly name = 'StageNotDeployedError';
}

/** The stack exists but has no usable URL (still creating, rolled back, or an older template). */
export class StageOutputMissingError extends Error {
  override readonly name = 'StageOutputMissingError';
}

/** Any other failure to ask CloudFormation (credentials, throttling, network). */
export class StackLookupError extends Error {
  override readonly name = 'StackLookupError';
}

/** The URL of the stage's load balancer, from the outputs of its CloudFormation stack. */
export async function findStageUrl(
  cloudFormation: CloudFormationClient,
  stage: string,
  region: string,
): Promise<string> {
  const stackName = stackNameOf(stage);
  let stacks: Stack[] | undefined;
  try {
    ({ Stacks: stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName })));
  } catch (cause) {
    if (isStackMissing(cause)) {
      throw new StageNotDeployedError(
        `stage "${stage}" is not deployed in ${region}: there is no stack ${stackName} ` +
          `(deploy it with \`npx sls deploy --stage ${stage}\`, or pass --region)`,
        { cause },
      );
    }
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const message = `cannot read stack ${stackName} of stage "${stage}" in ${region} (${reason})`;
    throw new StackLookupError(message, { cause });
  }
  const stack = stacks?.[0];
  if (!stack) {
    throw new StageNotDeployedError(`stage "${stage}" is not deployed in ${region}: no stack ${stackName}`);
  }
  const url = stack.Outputs?.find((output) => output.OutputKey === LOAD_BALANCER_OUTPUT)?.OutputValue;
  if (!url) {
    throw new StageOutputMissingError(
      `stack ${stackName} of stage "${stage}" (${stack.StackStatus ?? 'status unknown'}) ` +
        `has no output ${LOAD_BALANCER_OUTPUT}`,
    );
  }
  return url;
}

// CloudFormation answers an unknown stack name with a ValidationError "Stack with id X does not exist".
function isStackMissing(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message);
}
