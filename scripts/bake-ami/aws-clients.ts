import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { type AwsSession, clientSettings } from '../../shared/command-aws';

/**
 * The bake's real AWS clients (run from a workstation; bake.ts receives them as parameters, so tests pass mocked
 * ones): the builder instance, the image, the bundle, the AMI id.
 */
export function createBakeClients(session: AwsSession): {
  ec2: EC2Client;
  ssm: SSMClient;
  s3: S3Client;
  sts: STSClient;
} {
  return {
    ec2: new EC2Client(clientSettings(session)),
    ssm: new SSMClient(clientSettings(session)),
    s3: new S3Client(clientSettings(session)),
    sts: new STSClient(clientSettings(session)),
  };
}
