import { RESERVATION_STATUSES } from '../../core/contracts.ts';
import { ADMIN_COOKIE } from '../admin/board.ts';
import { MAX_WAIT_S } from '../http/params.ts';
import type { JsonSchema } from './response-schemas.ts';

/**
 * The reusable parts the route files' `@openapi` blocks refer to (`#/components/<kind>/<name>`):
 * parameters, headers, error responses and security schemes. Error responses are
 * application/problem+json (docs/errors.md); each names the codes it carries.
 */

const problemSchema = { $ref: '#/components/schemas/Problem' };
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** A problem response carrying X-Request-Id (and whatever other headers are given). */
export const problemResponse = (description: string, headers: Record<string, unknown> = {}, example?: Record<string, unknown>) => ({
  description,
  headers: { 'X-Request-Id': header('XRequestId'), ...headers },
  content: { 'application/problem+json': { schema: problemSchema, ...(example ? { example } : {}) } },
});

export const HEADERS = {
  XRequestId: {
    description: "This request's correlation id: the client's own `X-Request-Id` when it is a plain token (letters, digits, `._:-`, at most 128), else a new UUID. Logs, jobs and Kafka messages carry it.",
    required: true,
    schema: { type: 'string' },
  },
  Location: { description: "The created thing's URL (for a reservation: its status URL)", required: true, schema: { type: 'string' } },
  RetryAfter: { description: 'Seconds to wait before trying again (or, while queued, before polling again)', schema: { type: 'integer', minimum: 0 } },
  RateLimit: { description: 'draft-7 `RateLimit` header (when a limit is configured)', schema: { type: 'string' } },
  RateLimitPolicy: { description: 'draft-7 `RateLimit-Policy` header (when a limit is configured)', schema: { type: 'string' } },
};

export const PARAMETERS: Record<string, JsonSchema> = {
  EventId: { name: 'id', in: 'path', required: true, description: "The event's id (a malformed id is an unknown event: 404)", schema: { type: 'string', format: 'uuid' } },
  ReservationId: { name: 'id', in: 'path', required: true, description: "The reservation id (`<event id>.<uuid>`); another user's is 404 like a missing one", schema: { type: 'string' } },
  Limit: { name: 'limit', in: 'query', description: 'Page size', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  Cursor: { name: 'cursor', in: 'query', description: '`next_cursor` of the previous page', schema: { type: 'string' } },
  Wait: {
    name: 'wait',
    in: 'query',
    description: `Long-poll: answer as soon as the status differs from \`status\` (default: the status at the call), or after this many seconds unchanged (at most ${MAX_WAIT_S})`,
    schema: { type: 'integer', minimum: 0, maximum: MAX_WAIT_S },
  },
  Status: { name: 'status', in: 'query', description: 'With `wait`: the status to wait away from', schema: { type: 'string', enum: [...RESERVATION_STATUSES] } },
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    description: 'Makes retries safe: the same key (same user, same route) with the same body returns the same result and does nothing twice; with another body, 422 idempotency_key_reused',
    schema: { type: 'string', minLength: 1, maxLength: 128 },
  },
  PreferWait: {
    name: 'Prefer',
    in: 'header',
    description: `\`wait=N\` (RFC 7240): wait up to N seconds (at most ${MAX_WAIT_S}) for the decision: 201 when held, 409 when refused, 202 if still undecided`,
    schema: { type: 'string', example: 'wait=10' },
  },
  XRequestId: {
    name: 'X-Request-Id',
    in: 'header',
    description: 'A correlation id to keep (letters, digits, `._:-`, at most 128 characters); anything else is replaced by a UUID',
    schema: { type: 'string', maxLength: 128 },
  },
};

const retryAfter = { 'Retry-After': header('RetryAfter') };

export const RESPONSES = {
  InvalidRequest: problemResponse('`invalid_request`: a body field, query parameter or header is invalid; `invalid_params` names each', {}, {
    type: 'https://war-ticket.dev/errors/invalid_request',
    title: 'The request is invalid',
    status: 400,
    detail: 'qty: must be >= 1',
    code: 'invalid_request',
    invalid_params: [{ name: 'qty', reason: 'must be >= 1' }],
  }),
  Unauthorized: problemResponse('`unauthorized`: no bearer token, or it is malformed, expired, not HS256 with our key, or lacks `exp`, `sub` or a known `role`'),
  Forbidden: problemResponse('`forbidden`: a valid token of a role that may not do this'),
  EventNotFound: problemResponse('`event_not_found`'),
  ReservationNotFound: problemResponse("`reservation_not_found`: no such reservation, or another user's"),
  PayloadTooLarge: problemResponse('`payload_too_large`: the body is over `HTTP_BODY_LIMIT`'),
  UnsupportedMediaType: problemResponse('`unsupported_media_type`: a body that is not JSON'),
  IdempotencyKeyReused: problemResponse('`idempotency_key_reused`: this `Idempotency-Key` came with another body'),
  RateLimited: problemResponse("`rate_limited`: the caller's IP or user passed its requests per minute", {
    ...retryAfter,
    RateLimit: header('RateLimit'),
    'RateLimit-Policy': header('RateLimitPolicy'),
  }),
  ServiceUnavailable: problemResponse('`service_unavailable`: Redis, PostgreSQL or the queue did not answer; retry after `Retry-After`', retryAfter),
};

export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'HS256 JWT with `sub`, `role` (`admin` | `user`) and `exp`; `npm run token -- --role=user --sub=user-1` prints one for local use',
  },
  adminCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: ADMIN_COOKIE,
    description: 'The admin token kept by `POST /admin/login` for the board pages (a browser cannot send a bearer header)',
  },
};
