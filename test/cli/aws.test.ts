import { get } from 'node:http';
import { eventually } from '../support/requeue-harness';
import { removeDataDir, startLocalRuntime, STARTUP_BUDGET_MS, type LocalRuntime } from '../support/local-runtime';
import { runCli, startCli, type CliProcess } from '../support/cli';
import { startSigV4Verifier, type Principal, type SigV4Verifier } from '../support/sigv4-verifier';

// `requeue` against a deployed stack: each request signed with SigV4 for
// the execute-api URL's region, checked by a verifier that recomputes the
// signature from the secret (as API Gateway's IAM authorization does) and
// forwards what checks out to `npm start`. The CLI reaches the verifier
// through --connect-to; the Host header and the signature name the URL.

const REGION = 'eu-west-1';
const HOST = `abc123.execute-api.${REGION}.amazonaws.com`;
const API_URL = `https://${HOST}`;
const PRINCIPAL: Principal = { accessKeyId: 'AKIDCLITEST', secretAccessKey: 'cli-test-secret/with+chars' };
const CREDENTIALS = { AWS_ACCESS_KEY_ID: PRINCIPAL.accessKeyId, AWS_SECRET_ACCESS_KEY: PRINCIPAL.secretAccessKey };

let runtime: LocalRuntime;
let verifier: SigV4Verifier;

beforeAll(async () => {
  runtime = await startLocalRuntime();
  verifier = await startSigV4Verifier({ principal: PRINCIPAL, host: HOST, region: REGION, forwardTo: runtime.url });
}, STARTUP_BUDGET_MS + 5_000);

afterAll(async () => {
  await verifier?.close();
  await runtime?.kill();
  if (runtime) removeDataDir(runtime.dataDir);
});

const signed = (args: string[], env: Record<string, string> = CREDENTIALS, through: SigV4Verifier = verifier) =>
  runCli(['--url', API_URL, '--connect-to', through.origin, ...args], { env });

const untilState = (id: string, state: string) =>
  eventually(async () => {
    const job = (await runtime.request('GET', `/jobs/details/${encodeURIComponent(id)}`)).body;
    return job.state === state && job;
  }, 20_000, `job ${id} to be ${state}`);

describe('requeue against an execute-api URL', () => {
  it('signs a request for the region of the host, and shows the answer', async () => {
    const before = verifier.verified.length;
    const result = await signed(['metrics', '--json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(Object.keys(JSON.parse(result.stdout)).sort()).toEqual(Object.keys((await runtime.request('GET', '/jobs/metrics')).body).sort());
    expect(verifier.verified.slice(before)).toEqual([
      expect.objectContaining({ method: 'GET', url: '/jobs/metrics', host: HOST, signedHeaders: expect.arrayContaining(['host', 'x-amz-date']) }),
    ]);
    expect(verifier.verified.at(-1)!.authorization).toMatch(new RegExp(`Credential=${PRINCIPAL.accessKeyId}/\\d{8}/${REGION}/execute-api/aws4_request`));
  });

  it('signs bodies, encoded paths and query strings: enqueue, show and filter a job whose id has a colon', async () => {
    const enqueued = await signed(['enqueue', 'demo.fail', '--job-id', 'order:7', '--attempts', '1', '--data', '{"message": "Card declined! (50% off)"}']);
    expect(enqueued.code).toBe(0);
    expect(enqueued.stdout.trim()).toBe('Enqueued job order:7 (demo.fail), waiting');
    await untilState('order:7', 'failed');

    const shown = await signed(['show', 'order:7', '--json']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: 'order:7', error: 'Card declined! (50% off)' });
    expect(verifier.verified.at(-1)!.url).toBe('/jobs/details/order%3A7');

    const filtered = await signed(['failed', '--error', "declined! (50% off)", '--name', 'demo.fail', '--json']);
    expect(filtered.code).toBe(0);
    expect(JSON.parse(filtered.stdout).map((j: { id: string }) => j.id)).toEqual(['order:7']);

    const retried = await signed(['retry', 'order:7', '--data', '{"message": "again"}']);
    expect(retried.stdout.trim()).toBe("Job 'order:7' has been queued for retry");
    expect(verifier.refused).toEqual([]);
  });

  it('signs with temporary credentials, the session token among the signed headers', async () => {
    const token = { ...PRINCIPAL, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' };
    const withToken = await startSigV4Verifier({ principal: token, host: HOST, region: REGION, forwardTo: runtime.url });
    try {
      const result = await signed(['metrics'], { ...CREDENTIALS, AWS_SESSION_TOKEN: token.sessionToken }, withToken);
      expect(result.code).toBe(0);
      expect(withToken.verified).toEqual([expect.objectContaining({ signedHeaders: expect.arrayContaining(['x-amz-security-token']) })]);
    } finally {
      await withToken.close();
    }
  });

  it("prefixes a REST API's stage to every path, and signs it", async () => {
    const stage = await startSigV4Verifier({ principal: PRINCIPAL, host: HOST, region: REGION, forwardTo: runtime.url, stage: 'prod' });
    try {
      const result = await runCli(['--url', `${API_URL}/prod/`, '--connect-to', stage.origin, 'jobs', '--state', 'failed', '--json'], { env: CREDENTIALS });
      expect(result.code).toBe(0);
      expect(stage.verified.map((r) => r.url)).toEqual(['/prod/jobs?state=failed']);
    } finally {
      await stage.close();
    }
  });

  it('signs for the region --region names, for an API behind a custom domain name', async () => {
    const custom = await startSigV4Verifier({ principal: PRINCIPAL, host: 'jobs.example.com', region: 'ap-southeast-2', forwardTo: runtime.url });
    try {
      const args = ['--url', 'https://jobs.example.com', '--connect-to', custom.origin, 'tasks', '--json'];
      expect((await runCli(args, { env: CREDENTIALS })).code).toBe(1);
      expect(custom.refused).toEqual([{ url: '/jobs/retry-tasks', reason: 'no Authorization header' }]);
      expect((await runCli(['--region', 'ap-southeast-2', ...args], { env: CREDENTIALS })).code).toBe(0);
      expect(custom.verified).toHaveLength(1);
    } finally {
      await custom.close();
    }
  });

  it("fails with API Gateway's sentence and exit code 1 when the signature is not the principal's", async () => {
    const result = await signed(['metrics'], { ...CREDENTIALS, AWS_SECRET_ACCESS_KEY: 'another-secret' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('Error: The request signature we calculated does not match the signature you provided (HTTP 403)');
    expect(verifier.refused.at(-1)).toEqual({ url: '/jobs/metrics', reason: expect.stringContaining('does not match') });
  });

  it('sends a token instead of signing with --token', async () => {
    const refusedBefore = verifier.refused.length;
    const result = await signed(['metrics', '--token', 'a.jwt.token']);
    expect(result.code).toBe(1);
    expect(verifier.refused.slice(refusedBefore)).toEqual([{ url: '/jobs/metrics', reason: 'Authorization is not a SigV4 header: Bearer a.jwt.token' }]);
  });
});

describe('requeue dashboard against an execute-api URL', () => {
  let dashboard: CliProcess;
  let origin: string;

  beforeAll(async () => {
    dashboard = startCli(['dashboard', '--url', API_URL, '--connect-to', verifier.origin, '--port', '0'], { env: CREDENTIALS });
    origin = await eventually(async () => /requeue dashboard at (http:\/\/127\.0\.0\.1:\d+)\/dashboard/.exec(dashboard.stdout())?.[1], 20_000, 'the dashboard to listen');
  }, 30_000);

  afterAll(async () => {
    if (dashboard.child.exitCode === null) dashboard.child.kill('SIGKILL');
  });

  it('says where it forwards and how', () => {
    expect(dashboard.stdout()).toContain(`forwarding to ${API_URL} signed with SigV4 (${REGION}) by your AWS credentials`);
  });

  it('serves the dashboard page at /dashboard', async () => {
    const response = await fetch(`${origin}/dashboard`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toMatch(/^<!doctype html>/i);
  });

  it('forwards an API call of the page, signed, and hands back the answer with no credential in it', async () => {
    const before = verifier.verified.length;
    const response = await fetch(`${origin}/jobs/metrics`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ failed: expect.any(Number), queues: expect.any(Object) });
    expect(verifier.verified.slice(before)).toEqual([
      expect.objectContaining({ method: 'GET', url: '/jobs/metrics', host: HOST, signedHeaders: expect.arrayContaining(['host', 'x-amz-date']) }),
    ]);
    const headers = [...response.headers.keys()];
    expect(headers.filter((name) => /authorization|amz|cookie/i.test(name))).toEqual([]);
    expect(JSON.stringify(body)).not.toContain(PRINCIPAL.accessKeyId);
  });

  it('forwards a POST with its body, signed', async () => {
    const response = await fetch(`${origin}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ name: 'demo.echo', data: { via: 'dashboard' } }),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    expect(verifier.verified.at(-1)).toMatchObject({ method: 'POST', url: '/jobs' });
    expect((await untilState(id, 'completed')).data).toEqual({ via: 'dashboard' });
  });

  it("passes the API's errors on as they are", async () => {
    const response = await fetch(`${origin}/jobs/details/no-such-job`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'Job no-such-job not found', code: 'JOB_NOT_FOUND' });
  });

  it('forwards no path that is not a route of the API, nor a request from another site', async () => {
    const before = verifier.verified.length + verifier.refused.length;
    for (const [method, path] of [
      ['GET', '/admin'],
      ['GET', '/jobs/../../etc/passwd'],
      ['POST', '/jobs/metrics'],
      ['GET', '/jobsx'],
    ] as const) {
      const response = await fetch(`${origin}${path}`, { method });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    }
    const crossSite = await fetch(`${origin}/jobs/retry-all-failed`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toEqual({ error: 'Requests from other sites are not forwarded to the API', code: 'FORBIDDEN_ORIGIN' });
    // a page whose own name resolves to 127.0.0.1 (DNS rebinding) sends its name as the Host
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      get(`${origin}/jobs/metrics`, { headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    expect(rebound).toBe(421);
    expect(verifier.verified.length + verifier.refused.length).toBe(before);
  });

  it('stops on Ctrl-C', async () => {
    dashboard.child.kill('SIGINT');
    const result = await dashboard.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Dashboard stopped.');
  });
});
