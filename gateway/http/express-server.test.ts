import type { AddressInfo } from 'node:net';
import { IncomingMessage, ServerResponse, type Server } from 'node:http';
import { expect } from 'chai';
import express from 'express';
import { createExpressServer } from './express-server.ts';

describe('createExpressServer', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function listen(app: express.Express): Promise<string> {
    server = createExpressServer(app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("makes each request and response with the app's prototypes before Express sees them", async () => {
    const app = express();
    app.post('/echo', express.json(), (req, res) => {
      res.status(201).set('X-App', String(req.app === app)).json({ got: req.body, header: req.get('x-test') });
    });
    const origin = await listen(app);
    const seen: boolean[] = [];
    server!.prependListener('request', (req, res) => {
      seen.push(Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response);
    });
    const res = await fetch(`${origin}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-test': 'yes' }, body: JSON.stringify({ qty: 2 }) });
    expect(res.status).to.equal(201);
    expect(res.headers.get('x-app')).to.equal('true');
    expect(await res.json()).to.deep.equal({ got: { qty: 2 }, header: 'yes' });
    expect(seen).to.deep.equal([true, true]);
  });

  it("keeps requests and responses instances of Node's classes, and gives a mounted sub-app its own prototypes", async () => {
    const app = express();
    const sub = express();
    sub.get('/inner', (req, res) => {
      res.json({ subApp: req.app === sub, isIncoming: req instanceof IncomingMessage, isResponse: res instanceof ServerResponse });
    });
    app.use('/sub', sub);
    app.get('/outer', (req, res) => res.json({ app: req.app === app }));
    const origin = await listen(app);
    expect(await (await fetch(`${origin}/sub/inner`)).json()).to.deep.equal({ subApp: true, isIncoming: true, isResponse: true });
    expect(await (await fetch(`${origin}/outer`)).json()).to.deep.equal({ app: true });
  });
});
