/** Reads the instance metadata service. Undefined for a path that does not exist (404). */
export interface InstanceMetadata {
  get(path: string): Promise<string | undefined>;
}

export class InstanceMetadataError extends Error {
  override readonly name = 'InstanceMetadataError';
}

interface ImdsOptions {
  /** http://169.254.169.254 on EC2; the SDK's AWS_EC2_METADATA_SERVICE_ENDPOINT convention overrides it. */
  endpoint: string;
  timeoutMs?: number;
}

// Tokens live up to 6 h; one is fetched again a minute before it expires.
const TOKEN_TTL_SECONDS = 21_600;
const TOKEN_REFRESH_MARGIN_MS = 60_000;

/**
 * IMDSv2 only (the launch templates require tokens): a session token from PUT /latest/api/token, then
 * each GET carries it. A 401 means the token expired early (e.g. the instance was stopped): fetch anew once.
 */
export function imdsV2Client({ endpoint, timeoutMs = 2_000 }: ImdsOptions): InstanceMetadata {
  const base = endpoint.replace(/\/+$/, '');
  let token: { value: string; expiresAt: number } | undefined;

  const request = async (path: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new InstanceMetadataError(`instance metadata unreachable at ${base}${path}`, { cause: error });
    }
  };

  const sessionToken = async (): Promise<string> => {
    if (token && token.expiresAt - TOKEN_REFRESH_MARGIN_MS > Date.now()) return token.value;
    const response = await request('/latest/api/token', {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) },
    });
    if (!response.ok) throw new InstanceMetadataError(`IMDSv2 token request answered ${response.status}`);
    token = { value: await response.text(), expiresAt: Date.now() + TOKEN_TTL_SECONDS * 1000 };
    return token.value;
  };

  const get = async (path: string, retried = false): Promise<string | undefined> => {
    const response = await request(`/latest/meta-data/${path}`, {
      headers: { 'X-aws-ec2-metadata-token': await sessionToken() },
    });
    if (response.status === 401 && !retried) {
      token = undefined;
      return get(path, true);
    }
    if (response.status === 404) return undefined;
    if (!response.ok)
      throw new InstanceMetadataError(`instance metadata ${path} answered ${response.status}`);
    return response.text();
  };

  return { get: (path) => get(path) };
}
