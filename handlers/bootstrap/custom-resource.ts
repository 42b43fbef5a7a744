/** What CloudFormation sends a custom resource's function (the fields this project reads). */
export interface CustomResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceProperties: Record<string, unknown>;
}

export type Outcome =
  | { status: 'SUCCESS'; physicalResourceId: string }
  | { status: 'FAILED'; reason: string };

/**
 * The answer CloudFormation waits for (AWS CloudFormation User Guide, "Custom resource response objects"). A
 * Delete keeps the id it was given: a new id on Update would make CloudFormation delete the old resource.
 */
export function responseBody(event: CustomResourceEvent, outcome: Outcome): string {
  const physicalResourceId =
    outcome.status === 'SUCCESS'
      ? outcome.physicalResourceId
      : (event.PhysicalResourceId ?? `${event.LogicalResourceId}-failed`);
  return JSON.stringify({
    Status: outcome.status,
    ...(outcome.status === 'FAILED' ? { Reason: outcome.reason.slice(0, 1000) } : {}),
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
}

/** Sends the answer to the presigned S3 URL of the event; CloudFormation accepts no content type. */
export async function respond(event: CustomResourceEvent, outcome: Outcome): Promise<void> {
  const body = responseBody(event, outcome);
  const answer = await fetch(event.ResponseURL, {
    method: 'PUT',
    body,
    headers: { 'content-type': '' },
    signal: AbortSignal.timeout(10_000),
  });
  if (!answer.ok) throw new Error(`CloudFormation's response URL answered ${answer.status}`);
}
