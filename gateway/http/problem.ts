import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { AppError, ERROR_CATALOGUE } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

/**
 * Turns every error into application/problem+json (RFC 9457) with a stable `code`. Unknown errors are
 * bugs: a 500 with no detail (no stack, no driver message), logged at error.
 */
export function sendProblem(res: Response, err: AppError): void {
  const entry = ERROR_CATALOGUE[err.code];
  const body: Record<string, unknown> = {
    type: `https://war-ticket.dev/errors/${err.code}`,
    title: entry.title,
    status: err.status,
    detail: err.detail ?? entry.title,
    code: err.code,
  };
  if (err.extra.invalidParams) body.invalid_params = err.extra.invalidParams;
  if (err.extra.members) Object.assign(body, err.extra.members);
  if (err.extra.retryAfterS !== undefined) res.setHeader('Retry-After', String(err.extra.retryAfterS));
  res.status(err.status).type('application/problem+json').send(JSON.stringify(body));
}

/** body-parser's errors carry `type`; map the ones a client can cause. */
function fromBodyParser(err: { type?: unknown; status?: unknown }): AppError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return AppError.invalid([{ name: 'body', reason: 'is not valid JSON' }]);
    case 'entity.too.large':
      return new AppError('payload_too_large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'the body must be UTF-8 JSON');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return AppError.invalid([{ name: 'body', reason: 'was not received whole' }]);
    default:
      return undefined;
  }
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const appError = err instanceof AppError ? err : fromBodyParser(err as { type?: unknown });
    if (appError) {
      if (appError.status >= 500) logger.error({ err: appError.cause ?? appError, method: req.method, route: req.route?.path, request_id: req.requestId }, appError.code);
      return sendProblem(res, appError);
    }
    logger.error({ err, method: req.method, route: req.route?.path, request_id: req.requestId }, 'unexpected error');
    sendProblem(res, new AppError('internal_error', 'Internal error'));
  };
}

export const notFound: RequestHandler = (_req, _res, next) => next(new AppError('route_not_found'));

/** A body with a Content-Type that is not JSON is 415 (a missing body is left to validation: 400). */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (req.headers['content-type'] !== undefined && !req.is(['application/json', 'application/*+json'])) {
    return next(new AppError('unsupported_media_type'));
  }
  next();
};
