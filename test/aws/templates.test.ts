// Every stage variant a user can choose, packaged by the real `sls package` and judged by AWS's own linter
// (cfn-lint): no error and no warning in any of them, and every informational finding either absent or on the
// short list below with the reason it stays.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type LintFinding, lintTemplate, requireCommand } from '../support/aws-emu';
import { packageTemplate } from '../support/cloudformation/serverless-package';
import { STAGE_VARIANTS, type StageVariant } from '../support/cloudformation/stage-variants';
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

interface Packaged {
  variant: StageVariant;
  template: Template;
  findings: LintFinding[];
}

const packaged: Packaged[] = [];

before(async () => {
  requireCommand('cfn-lint');
  // Two at a time: each run packages a private copy of the service (CPU-bound esbuild on a shared machine).
  const queue = [...STAGE_VARIANTS];
  const worker = async () => {
    for (let variant = queue.shift(); variant; variant = queue.shift()) {
      const template = await packageTemplate({
        stage: STAGE,
        params: variant.params,
        region: variant.region,
      });
      packaged.push({ variant, template, findings: await lintTemplate(template, variant.region) });
    }
  };
  await Promise.all([worker(), worker()]);
});

const byLevel = (findings: LintFinding[], level: LintFinding['level']) =>
  findings.filter((finding) => finding.level === level);
const describeFinding = (finding: LintFinding) => `${finding.rule} at ${finding.path}: ${finding.message}`;

describe('cfn-lint on every stage variant', () => {
  for (const variant of STAGE_VARIANTS) {
    it(`${variant.name}: no error, no warning, only triaged informational findings`, () => {
      const found = packaged.find((entry) => entry.variant === variant);
      assert.ok(found, `${variant.name} was packaged`);
      const { findings } = found;
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
