import { callerOf, type HttpRequest } from '../../lambda/handlers/http';

const request = (actor: HttpRequest['actor']) => ({ actor }) as HttpRequest;

describe('callerOf: who sent a request', () => {
  it('names the IAM principal of a SigV4 request', () => {
    const arn = 'arn:aws:sts::123456789012:assumed-role/operator/alice';
    expect(callerOf(request({ type: 'iam', id: arn }))).toBe(arn);
  });

  it("names a JWT's subject", () => {
    expect(callerOf(request({ type: 'jwt', id: 'user-42' }))).toBe('user-42');
  });

  it('is `local` without an authorizer, or with one that names no one', () => {
    expect(callerOf(request(undefined))).toBe('local');
    expect(callerOf(request({ type: 'jwt', id: '' }))).toBe('local');
  });
});
