import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deployRegion, explainAwsError, resolveAwsSession } from '../../../shared/command-aws';

const serverlessYml = readFileSync(new URL('../../../serverless.yml', import.meta.url), 'utf8');

describe('resolveAwsSession', () => {
  const sdkSays = (region: string | undefined) => async () => region;

  it('takes --region first, with the profile', async () => {
    assert.deepEqual(
      await resolveAwsSession({ region: 'us-east-1', profile: 'ops' }, sdkSays('eu-central-1')),
      {
        region: 'us-east-1',
        regionSource: '--region',
        profile: 'ops',
      },
    );
  });

  it("then the SDK's chain (AWS_REGION, the profile's region) for that profile", async () => {
    // Prepare
    const asked: (string | undefined)[] = [];
    const chain = async (profile: string | undefined) => {
      asked.push(profile);
      return 'ap-south-1';
    };
    // Act
    const session = await resolveAwsSession({ profile: 'ops' }, chain);
    // Assess
    assert.deepEqual(asked, ['ops']);
    assert.equal(session.region, 'ap-south-1');
  });

  it('then the region sls deploy uses, from serverless.yml', async () => {
    assert.deepEqual(await resolveAwsSession({}, sdkSays(undefined)), {
      region: deployRegion(serverlessYml),
      regionSource: 'serverless.yml',
    });
  });
});

describe('deployRegion', () => {
  it("reads provider.region's default from serverless.yml", () => {
    assert.equal(
      deployRegion(serverlessYml),
      /region: \$\{opt:region, '([a-z0-9-]+)'\}/.exec(serverlessYml)?.[1],
    );
    assert.throws(() => deployRegion('provider:\n  name: aws\n'), /provider\.region/);
  });
});

describe('explainAwsError', () => {
  const session = { region: 'eu-west-1', regionSource: 'serverless.yml' as const };

  it('leaves errors that are not about the session to the caller', () => {
    assert.equal(explainAwsError(new Error('lease changed'), session), undefined);
  });

  it('names the missing region', () => {
    assert.match(
      explainAwsError(new Error('Region is missing'), session) ?? '',
      /no AWS region: pass --region/,
    );
  });
});
