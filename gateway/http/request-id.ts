import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

declare module 'express-serve-static-core' {
  interface Request {
    /** this request's correlation id (X-Request-Id), carried with its job, Kafka messages and logs */
    requestId?: string;
  }
}

/** What a client's own X-Request-Id may look like to be kept (else the gateway makes one). */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request a correlation id: the client's `X-Request-Id` when it is a plain token (letters,
 * digits, `._:-`, at most 128), else a new UUID; echoed in the response's `X-Request-Id`.
 */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  req.requestId = given !== undefined && ACCEPTED.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', req.requestId);
  next();
};
