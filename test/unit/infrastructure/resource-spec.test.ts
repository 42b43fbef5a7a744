import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  loadResourceSpec,
  type ResourceSpec,
  validateTemplate,
} from '../../support/cloudformation/resource-spec';
import type { Template } from '../../support/cloudformation/template';

let spec: ResourceSpec;
before(async () => {
  spec = await loadResourceSpec();
});

const withResource = (resource: Template['Resources'][string]): Template => ({
  Resources: { Thing: resource },
});

describe('validateTemplate', () => {
  it('accepts a well-formed resource, with computed values anywhere', () => {
    // Act
    const template = withResource({
      Type: 'AWS::EC2::LaunchTemplate',
      Properties: {
        LaunchTemplateName: 'x',
        LaunchTemplateData: {
          ImageId: { Ref: 'Ami' },
          MetadataOptions: { HttpTokens: 'required' },
          SecurityGroupIds: [{ Ref: 'Group' }],
          UserData: { 'Fn::Base64': 'echo' },
        },
      },
    });
    // Assess
    assert.deepEqual(validateTemplate(template, spec), []);
  });

  it('rejects an unknown resource type', () => {
    assert.deepEqual(validateTemplate(withResource({ Type: 'AWS::EC2::LaunchTemplat' }), spec), [
      'Thing: unknown resource type AWS::EC2::LaunchTemplat',
    ]);
  });

  it('rejects an unknown property, at the top and nested', () => {
    // Act
    const template = withResource({
      Type: 'AWS::EC2::LaunchTemplate',
      Properties: { Name: 'x', LaunchTemplateData: { MetadataOptions: { HttpToken: 'required' } } },
    });
    // Assess
    assert.deepEqual(validateTemplate(template, spec), [
      'Thing.Name: unknown property',
      'Thing.LaunchTemplateData.MetadataOptions.HttpToken: unknown property',
    ]);
  });

  it('rejects a missing required property', () => {
    // Act
    const template = withResource({
      Type: 'AWS::AutoScaling::AutoScalingGroup',
      Properties: { MinSize: '1' },
    });
    // Assess
    assert.deepEqual(validateTemplate(template, spec), ['Thing.MaxSize: required property missing']);
  });

  it('rejects a list where an object belongs and a scalar where a list belongs', () => {
    // Act
    const template = withResource({
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'x',
        SecurityGroupIngress: { IpProtocol: 'tcp' },
        Tags: [{ Key: 'a', Value: 'b' }],
      },
    });
    // Assess
    assert.equal(validateTemplate(template, spec).length, 1);
    assert.match(validateTemplate(template, spec)[0] ?? '', /^Thing\.SecurityGroupIngress: expected a list/);
  });
});
