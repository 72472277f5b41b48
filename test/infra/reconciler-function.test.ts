import { Match } from 'aws-cdk-lib/assertions';
import { RECONCILER } from '../../lambda/routes';
import { stackTemplate, type StackTemplate } from './stack-template';
import { synthRequeue } from './synth-stack';

let t: StackTemplate;

beforeAll(() => {
  t = stackTemplate(synthRequeue({}, { bundle: false }));
});

describe('the reconciler (infra/reconciler-function.ts)', () => {
  it('runs on the route table\'s schedule, without retrying a failed run', () => {
    t.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: RECONCILER.schedule,
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [t.reconcilerFunctionId(), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    t.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: t.reconcilerFunctionId() },
      MaximumRetryAttempts: 0,
    });
  });
});
