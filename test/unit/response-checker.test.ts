import { createResponseChecker, ResponseMismatchError } from '../support/response-checker';

// The checker the end-to-end tests run on every answer: it must refuse what the description does not give.

const check = createResponseChecker();

const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers({ 'content-type': 'application/json', ...headers }),
  text: typeof body === 'string' ? body : JSON.stringify(body),
});

const queueDepth = { visible: 0, inFlight: 0, delayed: 0 };
const metrics = {
  waiting: 1, active: 0, completed: 2, failed: 0, delayed: 0, total: 3,
  queues: { main: queueDepth, deadLetter: queueDepth },
  throughput: [{ minute: 1764400000000, completed: 2, failed: 0 }],
  paused: false,
};

it('takes an answer the description gives', () => {
  expect(() => check('GET', '/jobs/metrics', answer(200, metrics))).not.toThrow();
  expect(() => check('GET', '/jobs/details/a%3Ab', answer(404, { error: 'Job a:b not found', code: 'JOB_NOT_FOUND' }))).not.toThrow();
  expect(() => check('GET', '/jobs/failed?limit=1', answer(200, [], { 'x-next-cursor': 'abc' }))).not.toThrow();
  expect(() => check('POST', '/jobs', answer(403, { message: 'Forbidden' }))).not.toThrow();
  expect(() => check('GET', '/nowhere?x=1', answer(404, { error: 'No route for GET /nowhere.', code: 'ROUTE_NOT_FOUND' }))).not.toThrow();
});

it.each([
  ['a field the schema lacks', 'GET', '/jobs/metrics', answer(200, { ...metrics, extra: 1 }), /additional properties/],
  ['a field missing', 'GET', '/jobs/metrics', answer(200, { ...metrics, total: undefined }), /required property 'total'/],
  ['a status the operation does not list', 'GET', '/jobs/metrics', answer(404, { error: 'x', code: 'X' }), /lists only 200, 401/],
  ['an error without its code', 'POST', '/jobs', answer(400, { error: 'bad' }), /required property 'code'/],
  ['a body that is not JSON', 'GET', '/jobs/metrics', answer(200, '<html>'), /not JSON/],
  ['another content type', 'GET', '/jobs/metrics', answer(200, metrics, { 'content-type': 'text/plain' }), /content-type/],
  ['X-Next-Cursor where no page is', 'GET', '/jobs/metrics', answer(200, metrics, { 'x-next-cursor': 'abc' }), /X-Next-Cursor/],
  ['a path the description lacks answering 200', 'GET', '/jobs/nowhere/else', answer(200, {}), /must answer 404 RouteNotFound/],
  ['a method the path does not take', 'PUT', '/jobs', answer(200, {}), /must answer 404/],
])('refuses %s', (_, method, url, given, message) => {
  expect(() => check(method, url, given)).toThrow(ResponseMismatchError);
  expect(() => check(method, url, given)).toThrow(message);
});
