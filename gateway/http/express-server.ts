import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import type { Express } from 'express';

/** Node's request and response constructors, called on an object made with another prototype. */
type Constructor = (this: object, ...args: unknown[]) => void;

/**
 * An HTTP server for an Express app whose requests and responses are made with the app's own
 * prototypes (`app.request`, `app.response`) from the start.
 *
 * Express gives every request and response its prototypes with `Object.setPrototypeOf` as it begins
 * handling them, and engines optimise property access on the assumption that prototypes do not change
 * (MDN's page on `Object.setPrototypeOf` warns that changing one is slow everywhere). Measured here on a
 * bare Express 5 route with `express.json()` at 5,000 requests/s: 101 µs of CPU per request with the
 * switch and 43 µs without it, and 428 MB promoted to V8's old generation over 50,000 requests instead
 * of 4 MB (docs/performance.md, eighth session). Made with the right prototypes already, the objects
 * give `Object.setPrototypeOf` nothing to change.
 *
 * Node's server builds requests and responses with the constructors it is given; these run Node's own
 * on objects whose prototype is the app's, which itself leads to Node's (`app.request` →
 * express's request → `IncomingMessage.prototype`). A request routed into a mounted sub-app (the Bull
 * Board) still has its prototypes switched by Express, as before.
 */
export function createExpressServer(app: Express): Server {
  const incoming = IncomingMessage as unknown as Constructor;
  const response = ServerResponse as unknown as Constructor;
  function Request(this: object, ...args: unknown[]): void {
    incoming.apply(this, args);
  }
  Request.prototype = app.request;
  function Response(this: object, ...args: unknown[]): void {
    response.apply(this, args);
  }
  Response.prototype = app.response;
  return createServer({ IncomingMessage: Request as unknown as typeof IncomingMessage, ServerResponse: Response as unknown as typeof ServerResponse }, app);
}
