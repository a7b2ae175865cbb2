import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { Router, type RequestHandler } from 'express';
import type { Queue } from 'bullmq';

export const BOARD_PATH = '/admin/queues';
export const ADMIN_COOKIE = 'wt_admin_token';

/**
 * The Bull Board at /admin/queues: read-only, admins only, every event's reserve queue listed (new
 * events appear on the next page load). `showWorkers: false`, or every refresh would run CLIENT LIST.
 *
 * Browsers cannot add an Authorization header, so an admin signs in at /admin/login by pasting an
 * admin token (`npm run token -- --role=admin`): it is kept in an HttpOnly, SameSite=Strict cookie for
 * /admin until the token expires. The board is mounted behind the same JWT check, which reads the
 * bearer header or that cookie.
 */
export function boardRoutes(deps: {
  queueOf: (eventId: string) => Queue;
  eventIds: () => Promise<string[]>;
  /** a line an admin recognises the event by (its name and date) */
  describe: (eventId: string) => Promise<string>;
  authenticateAdmin: RequestHandler[];
}): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'war-ticket queues', showWorkers: false, hideRedisDetails: false } },
  });
  const shown = new Set<string>();
  const addNewQueues: RequestHandler = async (_req, _res, next) => {
    for (const eventId of await deps.eventIds()) {
      if (shown.has(eventId)) continue;
      const description = await deps.describe(eventId).catch(() => '');
      board.addQueue(new BullMQAdapter(deps.queueOf(eventId), { readOnlyMode: true, description }));
      shown.add(eventId);
    }
    next();
  };

  const router = Router();
  /**
   * @openapi
   * /admin/login:
   *   get:
   *     operationId: getAdminLogin
   *     tags: [Admin UI]
   *     summary: The sign-in page of the queue board
   *     security: []
   *     responses:
   *       '200':
   *         description: An HTML form to paste an admin token into
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { text/html: { schema: { type: string } } }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   *   post:
   *     operationId: adminLogin
   *     tags: [Admin UI]
   *     summary: Keep an admin token in a cookie for the board, then go to it
   *     description: >-
   *       The token is kept in an HttpOnly, SameSite=Strict cookie for `/admin` until it expires and is
   *       checked on every board request like a bearer token (a user's token gets 403 there).
   *     security: []
   *     requestBody:
   *       required: true
   *       content:
   *         application/x-www-form-urlencoded:
   *           schema:
   *             type: object
   *             required: [token]
   *             properties: { token: { type: string, description: 'an admin JWT' } }
   *     responses:
   *       '303':
   *         description: To the board (`/admin/queues/`), with `Set-Cookie`
   *         headers:
   *           Location: { $ref: '#/components/headers/Location' }
   *           Set-Cookie: { description: 'wt_admin_token (HttpOnly, SameSite=Strict, Path=/admin)', schema: { type: string } }
   *           X-Request-Id: { $ref: '#/components/headers/XRequestId' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.get('/admin/login', (_req, res) => {
    res.type('html').send(LOGIN_PAGE);
  });
  router.post('/admin/login', express.urlencoded({ extended: false, limit: '8kb' }), (req, res) => {
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    // The cookie is only a carrier: the board's JWT check decides, on every request.
    const payload = token.split('.')[1];
    let expSeconds = 0;
    try {
      expSeconds = Number((JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as { exp?: unknown }).exp) || 0;
    } catch {
      expSeconds = 0;
    }
    const maxAgeMs = Math.max(0, expSeconds * 1000 - Date.now());
    res.cookie(ADMIN_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/admin', maxAge: maxAgeMs, secure: req.secure });
    res.redirect(303, `${BOARD_PATH}/`);
  });
  /**
   * @openapi
   * /admin/queues:
   *   get:
   *     operationId: getQueueBoard
   *     tags: [Admin UI]
   *     summary: The Bull Board (admins, in a browser; read-only)
   *     description: >-
   *       Lists every event's reserve queue. Sign in at `/admin/login` first (a browser cannot send a
   *       bearer header); scripts may send `Authorization: Bearer`. The board's own pages, scripts and
   *       JSON API under `/admin/queues/` are Bull Board's and not described here.
   *     security: [{ bearer: [] }, { adminCookie: [] }]
   *     responses:
   *       '200':
   *         description: The board (HTML)
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { text/html: { schema: { type: string } } }
   *       '401': { $ref: '#/components/responses/Unauthorized' }
   *       '403': { $ref: '#/components/responses/Forbidden' }
   *       '429': { $ref: '#/components/responses/RateLimited' }
   */
  router.use(BOARD_PATH, ...deps.authenticateAdmin, addNewQueues, serverAdapter.getRouter() as RequestHandler);
  return router;
}

const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>war-ticket admin sign-in</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>Admin sign-in</h1>
<p>Paste an admin token (<code>npm run token -- --role=admin --sub=admin-1</code>) to open the queue board.</p>
<form method="post" action="/admin/login">
  <textarea name="token" rows="6" cols="70" aria-label="admin token" required></textarea><br>
  <button type="submit">Open the board</button>
</form>
</body></html>`;
