// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not JavaScript templates
// The other side of the cross-account secret: the template deployed in the secrets account.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  loadResourceSpec,
  type ResourceSpec,
  validateTemplate,
} from '../../support/cloudformation/resource-spec';
import { policyStatements } from '../../support/cloudformation/security-queries';
import { properties, type Template } from '../../support/cloudformation/template';

const template = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../../resources/secrets-account/template.json'), 'utf8'),
) as Template;

let spec: ResourceSpec;
before(async () => {
  spec = await loadResourceSpec();
});

describe('secrets-account template', () => {
  it('fits the CloudFormation resource specification', () => {
    assert.deepEqual(validateTemplate(template, spec), []);
  });

  it('creates the secret under the name the app stage reads, with a generated password, kept when deleted', () => {
    // Act
    const secret = properties(template, 'DatabaseSecret');
    // Assess: the password the data's role has outlives the stack (docs/DEPLOY.md, "5. Remove").
    const { DeletionPolicy, UpdateReplacePolicy } = template.Resources.DatabaseSecret ?? {};
    assert.deepEqual([DeletionPolicy, UpdateReplacePolicy], ['Retain', 'Retain']);
    assert.deepEqual(secret.Name, { 'Fn::Sub': '${Service}/${Stage}/database' });
    const generated = secret.GenerateSecretString as Record<string, unknown>;
    assert.equal(generated.GenerateStringKey, 'password');
    assert.ok(Number(generated.PasswordLength) >= 32);
    assert.deepEqual(generated.SecretStringTemplate, { 'Fn::Sub': '{"username":"${DatabaseUsername}"}' });
  });

  it('lets only the app roles of that stage and region assume the reader role (no prefix match)', () => {
    // Act
    const role = properties(template, 'SecretReaderRole');
    // Assess
    assert.deepEqual(role.RoleName, { 'Fn::Sub': '${Service}-${Stage}-db-secret-reader' });
    const trust = role.AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] };
    assert.deepEqual(trust.Statement, [
      {
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AppAccountId}:root' } },
        Action: 'sts:AssumeRole',
        Condition: {
          // A prefix such as role/cloudy-dev-* would also trust the roles of a stage named dev-x.
          ArnEquals: {
            // database-bootstrap: Aurora's bootstrap function, which gives the app's role this password.
            'aws:PrincipalArn': ['web', 'database', 'api', 'database-bootstrap'].map((tier) => ({
              'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AppAccountId}:role/\${Service}-\${Stage}-\${AppRegion}-${tier}`,
            })),
          },
        },
      },
    ]);
  });

  it('lets the reader role read that one secret and nothing else', () => {
    assert.deepEqual(policyStatements(template), [
      {
        owner: 'SecretReaderRole',
        effect: 'Allow',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [{ Ref: 'DatabaseSecret' }],
      },
    ]);
  });

  it('outputs what the app stage is configured with', () => {
    assert.deepEqual(Object.keys(template.Outputs ?? {}).sort(), [
      'SecretArn',
      'SecretName',
      'SecretReaderRoleArn',
    ]);
  });
});
