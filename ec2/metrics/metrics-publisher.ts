import { type CloudWatchClient, type MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { awsErrorKind } from '../../shared/aws-errors';
import type { Logger } from '../../shared/logger';

/** PutMetricData accepts at most 1000 data per request. */
const MAX_DATA_PER_REQUEST = 1000;

interface PublisherOptions {
  client: CloudWatchClient;
  namespace: string;
  logger: Logger;
  /** Data kept while CloudWatch is unreachable or throttling; the oldest are dropped beyond this. */
  maxBuffered?: number;
}

interface FlushResult {
  sent: number;
  /** Left in the buffer for the next flush (transient failure). */
  kept: number;
  /** Refused by CloudWatch for good (e.g. AccessDenied): retrying would never succeed. */
  dropped: number;
}

export interface MetricsPublisher {
  enqueue(data: MetricDatum[]): void;
  /** Sends everything buffered, in batches. Never throws: metrics must not take anything down. */
  flush(): Promise<FlushResult>;
  buffered(): number;
}

// At one reading a minute (six data), this is well over an hour of metrics kept through an outage.
const DEFAULT_MAX_BUFFERED = 600;

export function metricsPublisher(options: PublisherOptions): MetricsPublisher {
  const { client, namespace, logger } = options;
  const maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  let buffer: MetricDatum[] = [];

  return {
    enqueue(data) {
      buffer.push(...data);
      const overflow = buffer.length - maxBuffered;
      if (overflow > 0) {
        buffer = buffer.slice(overflow);
        logger.warn({ dropped: overflow }, 'metrics buffer full, dropped the oldest data');
      }
    },

    async flush() {
      const result: FlushResult = { sent: 0, kept: 0, dropped: 0 };
      while (buffer.length > 0) {
        const batch = buffer.slice(0, MAX_DATA_PER_REQUEST);
        try {
          await client.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: batch }));
          result.sent += batch.length;
        } catch (error) {
          // Throttling, server faults and network failures pass; a refusal of the request itself (4xx) does not.
          if (awsErrorKind(error) === 'transient') {
            // The SDK already retried with backoff; the next reading's flush (a minute on) tries again.
            result.kept = buffer.length;
            logger.warn({ err: error, kept: buffer.length }, 'PutMetricData failed, keeping the data');
            return result;
          }
          result.dropped += batch.length;
          logger.error({ err: error, dropped: batch.length }, 'PutMetricData refused the data');
        }
        buffer = buffer.slice(batch.length);
      }
      return result;
    },

    buffered: () => buffer.length,
  };
}
