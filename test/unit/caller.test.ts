import { callerOf, type HttpEvent } from '../../lambda/handlers/http';

const event = (requestContext: unknown) => ({ requestContext }) as unknown as HttpEvent;

describe('callerOf: who sent a request', () => {
  it('names the IAM principal of a SigV4 request (payload 2.0)', () => {
    const arn = 'arn:aws:sts::123456789012:assumed-role/operator/alice';
    expect(callerOf(event({ authorizer: { iam: { userArn: arn } } }))).toBe(arn);
  });

  it("names a JWT's subject (payload 2.0)", () => {
    expect(callerOf(event({ authorizer: { jwt: { claims: { sub: 'user-42' }, scopes: null } } }))).toBe('user-42');
  });

  it('reads the REST API (payload 1.0) the same way', () => {
    expect(callerOf(event({ identity: { userArn: 'arn:aws:iam::123456789012:user/bob' } }))).toBe('arn:aws:iam::123456789012:user/bob');
    expect(callerOf(event({ authorizer: { claims: { sub: 'user-7' } } }))).toBe('user-7');
  });

  it('is `local` without an authorizer, or with one that names no one', () => {
    expect(callerOf(event({}))).toBe('local');
    expect(callerOf(event(undefined))).toBe('local');
    expect(callerOf(event({ authorizer: { iam: { userArn: '' }, jwt: { claims: { sub: 5 } } } }))).toBe('local');
  });
});
