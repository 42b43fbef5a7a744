import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { wrapAwsCall } from '../aws-errors';
import {
  LEASE_KEY_ATTRIBUTE,
  type LeaseObservation,
  type LeaseRecord,
  type LeaseVersion,
  leaseKey,
  parseLeaseItem,
  type Takeover,
  takeoversAttribute,
  tokenAfter,
} from './lease-item';
import { readLease } from './read-lease';

// The holder's writes: the database sidecar's whole use of the lease item (see lease-item.ts).

/** The store did not answer (timeout, throttling, network): the outcome of a write is unknown. */
export class LeaseStoreError extends Error {
  override name = 'LeaseStoreError';
}

/** A conditional write was refused: the item is no longer the version (or the holder) the write assumed. */
export class LeaseConflictError extends Error {
  override name = 'LeaseConflictError';
}

export interface LeaseStore {
  read(): Promise<LeaseObservation>;
  /**
   * Takes the lease if it is still exactly `replaces`; returns the new fencing token: the replaced one + 1, or,
   * when there is no readable token (absent or malformed item), `seedToken`.
   */
  acquire(input: {
    replaces: LeaseVersion;
    holderId: string;
    expiresAtMs: number;
    seedToken: number;
    fenceAllPending: boolean;
    /** The takeover list to write, this take's own entry last. */
    takeovers: Takeover[];
  }): Promise<number>;
  /** Clears `fenceAllPending` once every other instance is fenced. */
  fenceAllDone(input: { holderId: string; fencingToken: number }): Promise<void>;
  /**
   * Extends the lease, publishing the last health probe's answer when there was one; returns the item as written
   * (how the holder learns of a handover request without a read of its own).
   */
  renew(input: {
    holderId: string;
    fencingToken: number;
    expiresAtMs: number;
    postgresAnswering?: boolean;
    /** Set during a planned stop: when the holder began stopping PostgreSQL (its writes ended). */
    writesStoppedAtMs?: number;
  }): Promise<LeaseRecord | undefined>;
  publishPrimary(input: {
    holderId: string;
    fencingToken: number;
    primarySinceMs: number;
    takeovers: Takeover[];
  }): Promise<void>;
  /**
   * Marks the lease free; only after PostgreSQL is stopped, so the next holder need not fence. A planned handover
   * names the standby that is to take it (`handedOverTo`); `writesStoppedAtMs` is when the stop began.
   */
  release(input: {
    holderId: string;
    fencingToken: number;
    releasedAtMs: number;
    handedOverTo?: string;
    writesStoppedAtMs?: number;
  }): Promise<void>;
}

const n = (value: number): AttributeValue => ({ N: String(value) });
const s = (value: string): AttributeValue => ({ S: value });

// Every write by a holder is conditional on it still being the holder of the same generation.
const STILL_MINE = 'holderId = :holder AND fencingToken = :token AND attribute_not_exists(releasedAtMs)';
// A new generation and a release both end whatever the previous one published or was asked.
const GENERATION_STATE =
  'primarySinceMs, postgresAnswering, handoverTo, handoverRequestedAtMs, handoverExpiresAtMs, handedOverTo, writesStoppedAtMs';
// "Still malformed": exactly the items parseLeaseItem rejects (a wrong or missing type, an empty holder).
const STILL_MALFORMED =
  `attribute_exists(${LEASE_KEY_ATTRIBUTE}) AND (NOT attribute_type(holderId, :S) OR size(holderId) = :zero OR ` +
  'NOT attribute_type(fencingToken, :N) OR NOT attribute_type(expiresAtMs, :N))';

/** The lease item in DynamoDB, written only with conditional writes. */
export function dynamoDbLeaseStore(options: {
  client: DynamoDBClient;
  table: string;
  name: string;
  requestTimeoutMs: number;
}): LeaseStore {
  const { client, table, name } = options;
  const key = leaseKey(name);
  // Every call is abandoned after requestTimeoutMs, whatever the client's own settings do.
  const deadline = () => AbortSignal.timeout(options.requestTimeoutMs);

  function send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return wrapAwsCall(call, ({ code, cause }) =>
      cause instanceof ConditionalCheckFailedException
        ? new LeaseConflictError(`lease ${operation}: condition failed`, { cause })
        : new LeaseStoreError(`lease ${operation}: store unavailable (${code})`, { cause }),
    );
  }

  /** A holder's write: applied only while it still holds the same generation of the lease. */
  async function updateIfStillMine(
    operation: string,
    holder: { holderId: string; fencingToken: number },
    updateExpression: string,
    values: Record<string, AttributeValue>,
  ): Promise<Record<string, AttributeValue> | undefined> {
    const output = await send(operation, () =>
      client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key,
          UpdateExpression: updateExpression,
          ConditionExpression: STILL_MINE,
          ExpressionAttributeValues: {
            ':holder': s(holder.holderId),
            ':token': n(holder.fencingToken),
            ...values,
          },
          ReturnValues: 'ALL_NEW',
        }),
        { abortSignal: deadline() },
      ),
    );
    return output.Attributes;
  }

  return {
    read() {
      return send('read', () => readLease({ client, table, name }, { abortSignal: deadline() }));
    },

    async acquire({ replaces, holderId, expiresAtMs, seedToken, fenceAllPending, takeovers }) {
      const pending: Record<string, AttributeValue> = fenceAllPending
        ? { fenceAllPending: { BOOL: true } }
        : {};
      if (replaces.kind !== 'version') {
        await send('acquire', () =>
          client.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                ...key,
                holderId: s(holderId),
                fencingToken: n(seedToken),
                expiresAtMs: n(expiresAtMs),
                takeovers: takeoversAttribute(takeovers),
                ...pending,
              },
              ...(replaces.kind === 'absent'
                ? { ConditionExpression: `attribute_not_exists(${LEASE_KEY_ATTRIBUTE})` }
                : {
                    ConditionExpression: STILL_MALFORMED,
                    ExpressionAttributeValues: { ':S': s('S'), ':N': s('N'), ':zero': n(0) },
                  }),
            }),
            { abortSignal: deadline() },
          ),
        );
        return seedToken;
      }
      const fencingToken = tokenAfter(replaces, seedToken);
      await send('acquire', () =>
        client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: key,
            UpdateExpression: fenceAllPending
              ? `SET holderId = :holder, fencingToken = :next, expiresAtMs = :expires, takeovers = :takeovers, fenceAllPending = :true REMOVE releasedAtMs, ${GENERATION_STATE}`
              : `SET holderId = :holder, fencingToken = :next, expiresAtMs = :expires, takeovers = :takeovers REMOVE releasedAtMs, fenceAllPending, ${GENERATION_STATE}`,
            ConditionExpression: 'fencingToken = :seenToken AND expiresAtMs = :seenExpires',
            ExpressionAttributeValues: {
              ':holder': s(holderId),
              ':next': n(fencingToken),
              ':expires': n(expiresAtMs),
              ':seenToken': n(replaces.fencingToken),
              ':seenExpires': n(replaces.expiresAtMs),
              ':takeovers': takeoversAttribute(takeovers),
              ...(fenceAllPending ? { ':true': { BOOL: true } } : {}),
            },
          }),
          { abortSignal: deadline() },
        ),
      );
      return fencingToken;
    },

    async fenceAllDone({ holderId, fencingToken }) {
      await updateIfStillMine('fence-all-done', { holderId, fencingToken }, 'REMOVE fenceAllPending', {});
    },

    async renew({ holderId, fencingToken, expiresAtMs, postgresAnswering, writesStoppedAtMs }) {
      const set = ['expiresAtMs = :expires'];
      const values: Record<string, AttributeValue> = { ':expires': n(expiresAtMs) };
      if (postgresAnswering !== undefined) {
        set.push('postgresAnswering = :answering');
        values[':answering'] = { BOOL: postgresAnswering };
      }
      if (writesStoppedAtMs !== undefined) {
        set.push('writesStoppedAtMs = :stopped');
        values[':stopped'] = n(writesStoppedAtMs);
      }
      const item = await updateIfStillMine(
        'renew',
        { holderId, fencingToken },
        `SET ${set.join(', ')}`,
        values,
      );
      return parseLeaseItem(item);
    },

    async publishPrimary({ holderId, fencingToken, primarySinceMs, takeovers }) {
      await updateIfStillMine(
        'publish',
        { holderId, fencingToken },
        'SET primarySinceMs = :since, takeovers = :takeovers',
        { ':since': n(primarySinceMs), ':takeovers': takeoversAttribute(takeovers) },
      );
    },

    async release({ holderId, fencingToken, releasedAtMs, handedOverTo, writesStoppedAtMs }) {
      const set = ['expiresAtMs = :zero', 'releasedAtMs = :released'];
      const values: Record<string, AttributeValue> = { ':zero': n(0), ':released': n(releasedAtMs) };
      if (handedOverTo !== undefined) {
        set.push('handedOverTo = :to');
        values[':to'] = s(handedOverTo);
      }
      if (writesStoppedAtMs !== undefined) {
        set.push('writesStoppedAtMs = :stopped');
        values[':stopped'] = n(writesStoppedAtMs);
      }
      // handedOverTo and writesStoppedAtMs are set here, so they are not among the attributes removed.
      const remove = GENERATION_STATE.split(', ').filter(
        (name) =>
          !(name === 'handedOverTo' && handedOverTo !== undefined) &&
          !(name === 'writesStoppedAtMs' && writesStoppedAtMs !== undefined),
      );
      await updateIfStillMine(
        'release',
        { holderId, fencingToken },
        `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
        values,
      );
    },
  };
}
