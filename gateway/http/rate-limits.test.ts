import { expect } from 'chai';
import { ipKeyGenerator } from 'express-rate-limit';
import { perIpKey } from './rate-limits.ts';

describe('perIpKey', () => {
  it('gives the key express-rate-limit’s ipKeyGenerator gives, for IPv4, IPv4-mapped and other IPv6 addresses', () => {
    const addresses = [
      '127.0.0.1', '203.0.113.7',
      '::ffff:127.0.0.1', '::ffff:203.0.113.7', '::FFFF:203.0.113.7', '::ffff:cb00:7107', '0:0:0:0:0:ffff:203.0.113.7',
      '::1', '::', '2001:db8::1', '2001:db8:0:12ff:abcd::1', '::203.0.113.7',
      '::ffff:203.0.113', '::ffff:1.2.3.4.5',
    ];
    for (const ip of addresses) expect(perIpKey({ ip }), ip).to.equal(ipKeyGenerator(ip));
    // the mapped form comes back as the client's IPv4 address, which is the point of the fast path
    expect(perIpKey({ ip: '::ffff:203.0.113.7' })).to.equal('203.0.113.7');
    expect(perIpKey({ ip: '2001:db8:0:12ff:abcd::1' })).to.equal('2001:db8:0:1200::/56');
  });

  it('puts requests whose IP is unknown (a closed socket) under one key', () => {
    expect(perIpKey({ ip: undefined })).to.equal('');
  });
});
