import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type LeaseObservation, leaseKey, observeLeaseItem } from './lease-item';

/** Where the lease item is: the stage's table and the item's name (location.ts reads both from the environment). */
export interface LeaseLocation {
  client: DynamoDBClient;
  table: string;
  name: string;
}

/**
 * One consistent read of the lease item: the lease changes hands in seconds, and an eventually consistent read
 * could name the previous holder. SDK errors pass through unchanged; each caller wraps them in its own named
 * errors (the sidecar's LeaseStoreError, the controller's AwsTransientError...).
 */
export async function readLease(
  location: LeaseLocation,
  options: { abortSignal?: AbortSignal } = {},
): Promise<LeaseObservation> {
  const { Item } = await location.client.send(
    new GetItemCommand({ TableName: location.table, Key: leaseKey(location.name), ConsistentRead: true }),
    options,
  );
  return observeLeaseItem(Item);
}
