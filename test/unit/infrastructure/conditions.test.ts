import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveTemplate, evaluateConditions } from '../../support/cloudformation/conditions';
import type { Template } from '../../support/cloudformation/template';

const template: Template = {
  Conditions: {
    UseGateway: { 'Fn::Equals': ['gateway', 'gateway'] },
    UseInstance: { 'Fn::Not': [{ Condition: 'UseGateway' }] },
    HasBastion: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
    Both: { 'Fn::And': [{ Condition: 'UseGateway' }, { Condition: 'HasBastion' }] },
    Either: { 'Fn::Or': [{ Condition: 'UseGateway' }, { Condition: 'HasBastion' }] },
  },
  Resources: {
    Gateway: { Type: 'AWS::EC2::NatGateway', Condition: 'UseGateway' },
    Instance: { Type: 'AWS::EC2::Instance', Condition: 'UseInstance' },
    Route: {
      Type: 'AWS::EC2::Route',
      Properties: {
        NatGatewayId: { 'Fn::If': ['UseGateway', { Ref: 'Gateway' }, { Ref: 'AWS::NoValue' }] },
        InstanceId: { 'Fn::If': ['UseInstance', { Ref: 'Instance' }, { Ref: 'AWS::NoValue' }] },
        Keys: [{ 'Fn::If': ['HasBastion', 'key', { Ref: 'AWS::NoValue' }] }, 'other'],
      },
    },
  },
  Outputs: { Bastion: { Condition: 'HasBastion', Value: 'x' }, Always: { Value: 'y' } },
};

describe('evaluateConditions', () => {
  it('evaluates Equals, Not, And, Or and references between conditions', () => {
    assert.deepEqual(Object.fromEntries(evaluateConditions(template)), {
      UseGateway: true,
      UseInstance: false,
      HasBastion: false,
      Both: false,
      Either: true,
    });
  });

  it('refuses to guess a condition on a value only CloudFormation knows', () => {
    const computed: Template = {
      Conditions: { X: { 'Fn::Equals': [{ Ref: 'Param' }, 'a'] } },
      Resources: {},
    };
    assert.throws(() => evaluateConditions(computed), /computed value/);
  });
});

describe('effectiveTemplate', () => {
  it('drops resources and outputs whose condition is false and resolves Fn::If and AWS::NoValue', () => {
    const effective = effectiveTemplate(template);
    assert.deepEqual(Object.keys(effective.Resources).sort(), ['Gateway', 'Route']);
    assert.deepEqual(effective.Resources.Route?.Properties, {
      NatGatewayId: { Ref: 'Gateway' },
      Keys: ['other'],
    });
    assert.deepEqual(Object.keys(effective.Outputs ?? {}), ['Always']);
  });
});
