import { AwsConfigurationError, AwsTransientError } from '../../handlers/failover/errors';
import { awsErrorCode } from '../../shared/aws-errors';
import { type AwsSession, explainAwsError } from '../../shared/command-aws';

/**
 * Why a db command's AWS call failed, when the cause is the session (credentials, region, permissions) or the stage
 * not being deployed in the session's region (its lease table missing there); undefined otherwise.
 */
export function explainDbFailure(
  error: unknown,
  session: AwsSession,
  stage: string,
  leaseTable: string,
): string | undefined {
  const operation =
    error instanceof AwsConfigurationError || error instanceof AwsTransientError
      ? error.operation
      : undefined;
  const explained = explainAwsError(error, session, operation);
  if (explained) return explained;
  if (awsErrorCode((error as { cause?: unknown } | null)?.cause) === 'ResourceNotFoundException') {
    return (
      `stage ${stage} is not deployed in ${session.region} (from ${session.regionSource}): ` +
      `no lease table ${leaseTable} there — pass --region, or deploy it (npx sls deploy --stage ${stage})`
    );
  }
  return undefined;
}
