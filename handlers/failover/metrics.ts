import { writeSync } from 'node:fs';

/**
 * CloudWatch metrics in the embedded metric format (EMF): a JSON line of their own, which CloudWatch Logs turns into
 * metrics with no API call and no extra permission. Not on the run's summary line: a metric must not depend on
 * that line's level, size or fate, and the line carries only what a reader needs (as Powertools Metrics does it).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export const METRICS_NAMESPACE = 'cloudy/failover';

export interface RunMetrics {
  /** Route creations and replacements applied in this run. */
  RouteChanges: number;
  /** 1 when no instance could safely receive the virtual IP route (alarm on it). */
  NoHealthyCandidate: number;
  /** AWS calls that failed transiently (throttling, 5xx, network); the next run retries. */
  TransientErrors: number;
}

export interface EmfDocument extends RunMetrics {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  Stage: string;
}

export function emfDocument(stage: string, metrics: RunMetrics, timestampMs: number): EmfDocument {
  return {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['Stage']],
          Metrics: Object.keys(metrics).map((name) => ({ Name: name, Unit: 'Count' })),
        },
      ],
    },
    Stage: stage,
    ...metrics,
  };
}

/** Writes one EMF document to stdout as its own line, synchronously (the Lambda may be frozen right after). */
export function writeMetrics(document: EmfDocument): void {
  writeSync(1, `${JSON.stringify(document)}\n`);
}
