import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { type AwsSession, clientSettings } from '../../shared/command-aws';

/**
 * The `db` commands' real AWS clients (the rest of them receives clients as parameters). Run by a person, so the
 * SDK's standard retries with backoff apply to reads (a throttled Describe call is retried rather than
 * reported), and each attempt is bounded so that a hung connection fails the command instead of holding the
 * terminal. The switchover request is written with `leaseWriter`, one attempt only: a retry of a write that was
 * applied but whose answer was lost would fail its own condition, so the command resolves such an outcome by
 * reading the item back instead (scripts/db/handover-request.ts). Region and profile come from the command's
 * session (shared/command-aws.ts); AWS_ENDPOINT_URL_* apply.
 */
export function createDbCommandClients(session: AwsSession): {
  ec2: EC2Client;
  dynamodb: DynamoDBClient;
  leaseWriter: DynamoDBClient;
} {
  // throwOnRequestTimeout: without it the SDK only logs a warning when requestTimeout passes and keeps waiting.
  const settings = {
    ...clientSettings(session),
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 3_000, throwOnRequestTimeout: true },
  };
  return {
    ec2: new EC2Client(settings),
    dynamodb: new DynamoDBClient(settings),
    leaseWriter: new DynamoDBClient({ ...settings, maxAttempts: 1 }),
  };
}
