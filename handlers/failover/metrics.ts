/**
 * CloudWatch metrics in the embedded metric format (EMF): fields of the run's summary log line that CloudWatch
 * Logs turns into metrics, with no API call and no extra permission.
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

interface EmfFields extends RunMetrics {
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

export function emfFields(stage: string, metrics: RunMetrics, timestampMs: number): EmfFields {
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
