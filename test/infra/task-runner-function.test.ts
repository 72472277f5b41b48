import { Match } from 'aws-cdk-lib/assertions';
import { stackTemplate, type StackTemplate } from './stack-template';
import { synthRequeue } from './synth-stack';

let t: StackTemplate;

beforeAll(() => {
  t = stackTemplate(synthRequeue({}, { bundle: false }));
});

describe('the retry-task runner (infra/task-runner-function.ts)', () => {
  it('feeds the retry-task runner one chunk at a time from the tasks queue, failures reported per message', () => {
    t.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [t.taskQueueId(), 'Arn'] },
      FunctionName: { Ref: t.taskRunnerFunctionId() },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: Match.anyValue() },
    });
  });
});
