import type { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export type Presign = (
  client: S3Client,
  command: GetObjectCommand | PutObjectCommand,
  expiresInSeconds: number,
) => Promise<string>;

/** Signs locally with the caller's credentials; the builder needs no IAM role to use the URL. */
export const presignS3: Presign = (client, command, expiresInSeconds) =>
  getSignedUrl(client, command, { expiresIn: expiresInSeconds });
