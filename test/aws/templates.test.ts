// Every stage variant a user can choose, packaged by the real `sls package` and judged by AWS's own linter
// (cfn-lint): no error and no warning in any of them, and every informational finding either absent or on the
// short list below with the reason it stays. Then, on the same templates, what moto does not model, as data from
// CloudFormation's resource specification: what a re-bake updates or replaces, what a removal and a failed
// deploy leave in the account, and that nothing kept carries a name the next deploy would reuse.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type LintFinding, lintTemplate, requireCommand } from '../support/aws-emu';
import {
  keptFixedNames,
  leftBehind,
  parametersAwsMoves,
  updateEffects,
} from '../support/cloudformation/lifecycle';
import { loadResourceSpec, type ResourceSpec } from '../support/cloudformation/resource-spec';
import { packageTemplate } from '../support/cloudformation/serverless-package';
import { STAGE_VARIANTS } from '../support/cloudformation/stage-variants';
import type { Template } from '../support/cloudformation/template';

const STAGE = 'lint';

/**
 * Informational findings that stay, each with where it may appear and why. I1022 ("prefer Fn::Sub over Fn::Join
 * with an empty delimiter"): osls writes the deployment bucket policy's Joins itself, and the launch templates'
 * user data joins lines whose serverless variables are CloudFormation expressions (a Sub string cannot hold them).
 */
const TRIAGED: { rule: string; path: RegExp }[] = [
  { rule: 'I1022', path: /^Resources\/ServerlessDeploymentBucketPolicy\// },
  { rule: 'I1022', path: /^Resources\/\w+LaunchTemplate\/Properties\/LaunchTemplateData\/UserData\// },
];
const triaged = (finding: LintFinding) =>
  TRIAGED.some((entry) => entry.rule === finding.rule && entry.path.test(finding.path));

const packaged = new Map<string, { template: Template; findings: LintFinding[] }>();

const byLevel = (findings: LintFinding[], level: LintFinding['level']) =>
  findings.filter((finding) => finding.level === level);
const describeFinding = (finding: LintFinding) => `${finding.rule} at ${finding.path}: ${finding.message}`;

function templateOf(name: string): Template {
  const found = packaged.get(name);
  if (!found) throw new Error(`the ${name} stage was not packaged (see its cfn-lint test)`);
  return found.template;
}

let spec: ResourceSpec;
before(async () => {
  requireCommand('cfn-lint');
  spec = await loadResourceSpec();
});

// Each variant packaged in its own test (bounded by the runner's per-test limit), two at a time: each run packages
// a private copy of the service, CPU-bound esbuild on a shared machine.
describe('cfn-lint on every stage variant', { concurrency: 2 }, () => {
  for (const variant of STAGE_VARIANTS) {
    it(`${variant.name}: no error, no warning, only triaged informational findings`, async () => {
      // Arrange
      const template = await packageTemplate({
        stage: STAGE,
        params: variant.params,
        region: variant.region,
      });
      // Act
      const findings = await lintTemplate(template, variant.region);
      packaged.set(variant.name, { template, findings });
      // Assess
      const counts = ['Error', 'Warning', 'Informational'].map(
        (level) => `${byLevel(findings, level as LintFinding['level']).length} ${level.toLowerCase()}`,
      );
      process.stdout.write(`# cfn-lint ${variant.name} (${variant.region}): ${counts.join(', ')}\n`);
      assert.deepEqual(byLevel(findings, 'Error').map(describeFinding), []);
      assert.deepEqual(byLevel(findings, 'Warning').map(describeFinding), []);
      assert.deepEqual(
        byLevel(findings, 'Informational')
          .filter((finding) => !triaged(finding))
          .map(describeFinding),
        [],
      );
    });
  }
});

// What moto cannot show (test/aws/deploy.test.ts), as data from CloudFormation's resource specification.
describe('a re-bake rolls out the new image and touches nothing else', () => {
  it('changes the launch templates and the two groups only, and replaces no NAT instance or bastion', () => {
    for (const name of ['default', 'every option']) {
      // Arrange: a re-bake writes a new id into the app AMI parameter; `sls deploy --force` then updates the stack,
      // and CloudFormation resolves every SSM parameter type again, AWS's public ones included.
      const template = templateOf(name);
      const changed = ['AppAmiId', ...parametersAwsMoves(template)];
      // Act
      const effects = Object.fromEntries(updateEffects(template, spec, changed));
      // Assess
      assert.deepEqual(parametersAwsMoves(template), [], `${name}: no image parameter that AWS moves`);
      assert.deepEqual(
        effects,
        {
          WebLaunchTemplate: 'update',
          DatabaseLaunchTemplate: 'update',
          // AutoScalingRollingUpdate: one new instance at a time.
          WebAutoScalingGroup: 'update',
          // AutoScalingReplacingUpdate: a new group beside the old one (docs/DEPLOY.md, "Rolling out a new AMI").
          DatabaseAutoScalingGroup: 'replace',
          // The new group's name reaches the alarm on it and the dashboard.
          DatabaseInstancesAlarm: 'update',
          Dashboard: 'update',
        },
        name,
      );
    }
  });

  it("would catch an image parameter AWS moves: the NAT instance and bastion on AWS's public AL2023 parameter", () => {
    // Arrange: the template as it was, NAT and bastion on the public parameter.
    const template = structuredClone(templateOf('every option'));
    const parameters = template.Parameters ?? {};
    const natImage = parameters.NatAmiId;
    assert.ok(natImage, 'the template has the NAT image parameter');
    natImage.Default = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
    // Act
    const effects = updateEffects(template, spec, ['AppAmiId', ...parametersAwsMoves(template)]);
    // Assess
    assert.equal(effects.get('NatGateway'), undefined);
    assert.equal(effects.get('Bastion'), 'replace');
  });
});

describe('what a removal and a failed deploy leave behind, and their names', () => {
  it('keeps nothing under a name the next deploy of the stage would give again', () => {
    for (const variant of STAGE_VARIANTS) {
      // Act / Assess
      assert.deepEqual(keptFixedNames(templateOf(variant.name), spec), [], variant.name);
    }
  });

  it('would catch a kept vault with a fixed name (the template as it was)', () => {
    // Arrange
    const template: Template = {
      Resources: {
        DatabaseBackupVault: {
          Type: 'AWS::Backup::BackupVault',
          DeletionPolicy: 'Retain',
          UpdateReplacePolicy: 'Retain',
          Properties: { BackupVaultName: 'cloudy-dev-database' },
        },
      },
    };
    // Act / Assess
    assert.deepEqual(keptFixedNames(template, spec), [
      'DatabaseBackupVault (AWS::Backup::BackupVault) is kept and named "cloudy-dev-database" in BackupVaultName',
    ]);
  });

  it('leaves what docs/DEPLOY.md says after sls remove, and nothing but an Aurora snapshot after a failed create', () => {
    // Act
    const kept = (name: string, after: 'remove' | 'failed create') =>
      leftBehind(templateOf(name), after).map((entry) => `${entry.id} (${entry.what})`);
    // Assess: docs/DEPLOY.md, "5. Remove" (the table) and "Names that outlive a stack".
    for (const name of ['default', 'every option', 'us-east-1']) {
      assert.deepEqual(
        kept(name, 'remove'),
        [
          'DatabaseFileSystem (resource)',
          'DatabaseBackupBucket (resource)',
          'DatabaseBackupVault (resource)',
        ],
        name,
      );
      assert.deepEqual(kept(name, 'failed create'), [], name);
    }
    for (const name of ['aurora', 'aurora with its options']) {
      assert.deepEqual(kept(name, 'remove'), ['DatabaseCluster (snapshot)'], name);
      assert.deepEqual(kept(name, 'failed create'), ['DatabaseCluster (snapshot)'], name);
    }
  });
});
