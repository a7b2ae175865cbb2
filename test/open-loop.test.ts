import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { openLoop } from '../scripts/bench/open-loop.ts';

/** bench:gateway's load generator against a real HTTP server on loopback. */
describe('open-loop load generator (scripts/bench/open-loop.ts)', () => {
  let server: Server;
  let origin: string;
  let handle: (req: IncomingMessage, res: ServerResponse) => void;

  before(async () => {
    server = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(() => server.closeAllConnections());

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends the offered number of requests, each with its own headers and body, and counts the answers by status', async () => {
    const seen: { index: string; method: string; body: string }[] = [];
    handle = (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => {
        seen.push({ index: String(req.headers['x-index']), method: req.method!, body });
        res.statusCode = Number(req.headers['x-index']) % 2 === 0 ? 202 : 409;
        res.end('{"answer":"some body to drop"}');
      });
    };
    const r = await openLoop({
      origin, method: 'POST', path: '/reserve', ratePerS: 200, durationS: 1, connections: 20,
      request: (i) => ({ headers: { 'content-type': 'application/json', 'x-index': String(i) }, body: `{"i":${i}}` }),
    });
    expect(r.sent).to.equal(200);
    expect(r.failed).to.equal(0);
    expect(r.statuses).to.deep.equal({ 202: 100, 409: 100 });
    expect(r.latency.count).to.equal(200);
    expect(seen).to.have.length(200);
    expect(new Set(seen.map((s) => s.index)).size).to.equal(200);
    for (const s of seen) expect(s).to.deep.include({ method: 'POST', body: `{"i":${s.index}}` });
    // Answers per second over max(duration, time to the last answer): never above the offered rate.
    expect(r.achievedPerS).to.be.above(0).and.at.most(200);
  });

  it('counts latency from each request\'s scheduled start, so waiting for a connection is counted', async () => {
    // 2 connections, each answer 100 ms late: 20 answers/s for 50/s offered, so later requests wait
    // for a connection, and that wait is in their latency.
    handle = (req, res) => { req.resume(); setTimeout(() => res.end('ok'), 100); };
    const r = await openLoop({ origin, method: 'GET', path: '/slow', ratePerS: 50, durationS: 1, connections: 2, request: () => ({ headers: {} }), slowMs: 150 });
    expect(r.sent).to.equal(50);
    expect(r.statuses).to.deep.equal({ 200: 50 });
    expect(r.latency.p50).to.be.at.least(100);
    // The last of 50 requests, due at ~1 s, is answered after ~25 rounds of 100 ms (~2.5 s).
    expect(r.latency.max).to.be.above(1000);
    expect(r.slow).to.be.above(25).and.at.most(50);
  });

  it('counts requests not answered by the end of the drain as failed', async () => {
    handle = (req) => { req.resume(); }; // never answers
    const r = await openLoop({ origin, method: 'GET', path: '/never', ratePerS: 20, durationS: 0.5, connections: 20, request: () => ({ headers: {} }), drainTimeoutMs: 200 });
    expect(r.sent).to.equal(10);
    expect(r.failed).to.equal(10);
    expect(r.statuses).to.deep.equal({});
    expect(r.latency.count).to.equal(0);
  });

  it('counts a refused connection as failed', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await openLoop({ origin: `http://127.0.0.1:${port}`, method: 'GET', path: '/', ratePerS: 20, durationS: 0.25, connections: 5, request: () => ({ headers: {} }) });
    expect(r.sent).to.equal(5);
    expect(r.failed).to.equal(5);
    expect(r.statuses).to.deep.equal({});
  });
});
