/**
 * The error catalogue: every code a client can see, with its HTTP status, a title, and whether retrying
 * the same request later can succeed. docs/errors.md lists the same codes.
 */
export const ERROR_CATALOGUE = {
  invalid_request: { status: 400, title: 'The request is invalid', retryable: false },
  unauthorized: { status: 401, title: 'A valid bearer token is required', retryable: false },
  forbidden: { status: 403, title: 'This role may not do that', retryable: false },
  route_not_found: { status: 404, title: 'No such route', retryable: false },
  event_not_found: { status: 404, title: 'No such event', retryable: false },
  category_not_found: { status: 404, title: 'No such ticket category for this event', retryable: false },
  reservation_not_found: { status: 404, title: 'No such reservation', retryable: false },
  category_exists: { status: 409, title: 'This event already has a category of that name', retryable: false },
  sales_not_open: { status: 409, title: 'The sale has not opened yet', retryable: true },
  sales_paused: { status: 409, title: 'The sale is paused', retryable: true },
  sales_closed: { status: 409, title: 'The sale is closed', retryable: false },
  queue_full: { status: 429, title: "The event's queue is full", retryable: true },
  rate_limited: { status: 429, title: 'Too many requests', retryable: true },
  out_of_stock: { status: 409, title: 'Fewer seats are left than requested', retryable: false },
  limit_exceeded: { status: 409, title: "The user's holds and bookings for this event would pass max_per_user", retryable: false },
  hold_expired: { status: 409, title: 'The hold has expired', retryable: false },
  not_confirmable: { status: 409, title: 'Only a held reservation can be confirmed', retryable: false },
  not_cancellable: { status: 409, title: 'This reservation can no longer be cancelled', retryable: false },
  payment_failed: { status: 402, title: 'The payment was declined', retryable: true },
  idempotency_key_reused: { status: 422, title: 'This Idempotency-Key was used with another request body', retryable: false },
  payload_too_large: { status: 413, title: 'The request body is too large', retryable: false },
  unsupported_media_type: { status: 415, title: 'The body must be application/json', retryable: false },
  internal_error: { status: 500, title: 'Internal error', retryable: true },
  service_unavailable: { status: 503, title: 'A dependency is unavailable', retryable: true },
} as const satisfies Record<string, { status: number; title: string; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface InvalidParam {
  readonly name: string;
  readonly reason: string;
}

/** An expected outcome with a stable code; anything that is not an AppError is a bug. */
export class AppError extends Error {
  readonly status: number;
  readonly retryable: boolean;

  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra: { invalidParams?: InvalidParam[]; retryAfterS?: number; cause?: unknown; members?: Record<string, unknown> } = {},
  ) {
    super(detail ?? ERROR_CATALOGUE[code].title, { cause: extra.cause });
    this.name = 'AppError';
    this.status = ERROR_CATALOGUE[code].status;
    this.retryable = ERROR_CATALOGUE[code].retryable;
  }

  static invalid(params: InvalidParam[]): AppError {
    const detail = params.map((p) => `${p.name}: ${p.reason}`).join('; ');
    return new AppError('invalid_request', detail, { invalidParams: params });
  }
}
