import { Match } from 'aws-cdk-lib/assertions';
import { QUEUE_SETTINGS } from '../../lambda/adapters/settings';
import { refTarget, synthRequeue } from './synth-stack';
import { stackTemplate, type StackTemplate } from './stack-template';

let t: StackTemplate;

beforeAll(() => {
  t = stackTemplate(synthRequeue({}, { bundle: false }));
});

describe('the worker and its event source (infra/worker-function.ts)', () => {
  it("feeds the worker from the main queue: batch item failures reported, a batching window, concurrency capped", () => {
    t.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    t.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [t.mainQueueId(), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: QUEUE_SETTINGS.batchSize,
      MaximumBatchingWindowInSeconds: Match.anyValue(),
      ScalingConfig: { MaximumConcurrency: Match.anyValue() },
    });
    const mapping = t.ofType('AWS::Lambda::EventSourceMapping').find(([, m]) => refTarget(m.Properties.EventSourceArn) === t.mainQueueId())![1];
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
    expect(mapping.Properties.ScalingConfig.MaximumConcurrency).toBeGreaterThanOrEqual(2);
  });

  it("reserves the worker as much concurrency as its event source may use, and no other function any", () => {
    const mapping = t.ofType('AWS::Lambda::EventSourceMapping').find(([, m]) => refTarget(m.Properties.EventSourceArn) === t.mainQueueId())![1];
    const reserved = t.resources[t.workerFunctionId()]!.Properties.ReservedConcurrentExecutions;
    expect(reserved).toBe(mapping.Properties.ScalingConfig.MaximumConcurrency);
    const others = t.ofType('AWS::Lambda::Function').filter(([id]) => id !== t.workerFunctionId());
    for (const [, fn] of others) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('refuses to reserve the worker less concurrency than its event source may use', () => {
    expect(() => synthRequeue({ workerMaxConcurrency: 10, workerReservedConcurrency: 5 }, { bundle: false })).toThrow(
      /workerReservedConcurrency \(5\) is below workerMaxConcurrency \(10\)/,
    );
  });

  it("gives the worker's jobs a default time limit inside the worker's own timeout", () => {
    const worker = t.ofType('AWS::Lambda::Function').find(([id]) => id === t.workerFunctionId())![1];
    const limitMs = Number(worker.Properties.Environment.Variables.REQUEUE_JOB_TIMEOUT_MS);
    expect(limitMs).toBeGreaterThan(0);
    expect(limitMs).toBeLessThan(worker.Properties.Timeout * 1000);
  });
});
