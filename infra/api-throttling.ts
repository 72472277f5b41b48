import { routeKey, type Route } from '../lambda/routes';

/** Steady requests per second and the burst above it that API Gateway lets through before it answers 429. */
export interface ThrottleSettings {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface ApiThrottling {
  /** Every route of the stage. */
  readonly default: ThrottleSettings;
  /** The routes in BULK_ROUTES, each on its own. */
  readonly bulk: ThrottleSettings;
}

/**
 * Well under the account's regional default (10,000 requests a second) so
 * that one runaway caller cannot use up the Lambda concurrency and the
 * table's capacity the worker needs too.
 */
export const DEFAULT_API_THROTTLING: ApiThrottling = {
  default: { rateLimit: 200, burstLimit: 400 },
  bulk: { rateLimit: 5, burstLimit: 10 },
};

/**
 * Routes that read or change up to a thousand jobs in one request (a page of
 * jobs, a retry or removal of all failed ones): one call costs what hundreds of the
 * others do.
 */
export const BULK_ROUTES: readonly string[] = [
  'GET /jobs',
  'GET /jobs/failed',
  'POST /jobs/retry-all-failed',
  'POST /jobs/remove-all-failed',
];

export const isBulkRoute = (route: Pick<Route, 'method' | 'path'>): boolean => BULK_ROUTES.includes(routeKey(route));
