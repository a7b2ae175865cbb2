import { expect } from 'chai';
import { parseDurationMs } from './duration.ts';

describe('parseDurationMs', () => {
  it('reads milliseconds, seconds, minutes and hours', () => {
    expect(parseDurationMs('1500ms')).to.equal(1500);
    expect(parseDurationMs('30s')).to.equal(30_000);
    expect(parseDurationMs('5m')).to.equal(300_000);
    expect(parseDurationMs('1h')).to.equal(3_600_000);
    expect(parseDurationMs('0.5s')).to.equal(500);
    expect(parseDurationMs('250')).to.equal(250);
  });

  it('refuses text that is not a duration', () => {
    for (const bad of ['', 'abc', '5 minutes', '-1s', '1d', 's']) expect(parseDurationMs(bad), bad).to.equal(undefined);
  });
});
