/**
 * The yardstick of `npm run bench:gateway`: a bare Express 5 POST route with express.json() and the
 * same app settings as the gateway (etag off), on PORT. Nothing else.
 */
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/reserve', express.json({ limit: '16kb' }), (req, res) => {
  res.status(202).json({ status: 'queued', echo: (req.body as { qty?: number }).qty ?? 0 });
});
const server = app.listen(Number(process.env.PORT ?? 0), () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
