import { expect } from 'chai';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config).to.include({ port: 8080, reservationTtlMs: 300_000, jwtSecret: DEV_JWT_SECRET, nodeEnv: 'development' });
    expect(config.kafkaBrokers).to.deep.equal(['127.0.0.1:9092']);
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', RESERVATION_TTL: '5 minutes', KAFKA_BROKERS: 'nohost', REDIS_URL: 'http://x' });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['PORT', 'RESERVATION_TTL', 'KAFKA_BROKERS', 'REDIS_URL']) expect(message).to.contain(name);
    expect((error as ConfigError).problems).to.have.length(4);
  });

  it('in production, requires a JWT secret of at least 32 characters that is not the development default', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).to.throw(ConfigError, /JWT_SECRET is required/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'short' })).to.throw(ConfigError, /at least 32/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: DEV_JWT_SECRET })).to.throw(ConfigError, /development default/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }).jwtSecret).to.equal('x'.repeat(40));
  });
});
