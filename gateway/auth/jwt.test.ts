import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { signToken } from '../../core/auth-token.ts';
import { testLogger } from '../../test/support/env.ts';
import { errorHandler } from '../http/problem.ts';
import { createAuth, VerifiedTokens } from './jwt.ts';

describe('VerifiedTokens', () => {
  const alice = { sub: 'alice', role: 'user' } as const;

  it('gives a token back only before its exp, and forgets it then', () => {
    const tokens = new VerifiedTokens(10);
    tokens.set('t1', alice, 2_000);
    expect(tokens.get('t1', 1_999)).to.deep.equal(alice);
    expect(tokens.get('t1', 2_000)).to.equal(undefined);
    expect(tokens.size).to.equal(0);
    expect(tokens.get('t2', 0)).to.equal(undefined);
  });

  it('lets the oldest entries go when full, and keeps none with capacity 0', () => {
    const tokens = new VerifiedTokens(2);
    tokens.set('a', alice, 10_000);
    tokens.set('b', alice, 10_000);
    tokens.set('c', alice, 10_000);
    expect([tokens.get('a', 0), tokens.get('b', 0), tokens.get('c', 0)].map(Boolean)).to.deep.equal([false, true, true]);
    const none = new VerifiedTokens(0);
    none.set('a', alice, 10_000);
    expect(none.get('a', 0)).to.equal(undefined);
  });
});

describe('createAuth with verified tokens remembered', () => {
  const secret = 'a-test-secret-that-is-long-enough-0123456789';
  let base = '';
  let close: () => Promise<void> = async () => {};

  before(async () => {
    const app = express();
    const auth = createAuth(secret, undefined, { cacheSize: 100 });
    app.get('/user', ...auth.authenticate('user'), (req, res) => { res.json(req.caller); });
    app.get('/admin', ...auth.authenticate('admin'), (req, res) => { res.json(req.caller); });
    app.use(errorHandler(testLogger()));
    const server = app.listen(0);
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });
  after(() => close());

  const get = async (path: string, token: string) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('accepts a remembered token again, and still refuses one differing in any byte of its signature', async () => {
    const token = signToken(secret, { sub: 'u-1', role: 'user' });
    expect(await get('/user', token)).to.deep.include({ status: 200, body: { sub: 'u-1', role: 'user' } });
    expect(await get('/user', token)).to.deep.include({ status: 200, body: { sub: 'u-1', role: 'user' } });
    const signatureAt = token.lastIndexOf('.') + 1;
    const forged = `${token.slice(0, signatureAt)}${token[signatureAt] === 'A' ? 'B' : 'A'}${token.slice(signatureAt + 1)}`;
    expect((await get('/user', forged)).body.code).to.equal('unauthorized');
  });

  it('checks the role of a remembered token on every route', async () => {
    const token = signToken(secret, { sub: 'u-2', role: 'user' });
    expect((await get('/user', token)).status).to.equal(200);
    expect((await get('/admin', token)).body.code).to.equal('forbidden');
  });

  it('refuses a token signed with another secret, and one past its exp', async () => {
    expect((await get('/user', signToken(`${secret}-other`, { sub: 'u-3', role: 'user' }))).body.code).to.equal('unauthorized');
    expect((await get('/user', signToken(secret, { sub: 'u-4', role: 'user' }, -10))).body.code).to.equal('unauthorized');
  });
});
