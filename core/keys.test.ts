import { expect } from 'chai';
import { eventIdOfReservation, eventKeys, newReservationId, reserveQueueName } from './keys.ts';

const EVENT = '0b6a5d2e-8f0c-4a6b-9a51-2f1f4f0c9d11';
const UUID = '7c3e2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6';

describe('keys', () => {
  it('puts every key of one event in the same hash slot', () => {
    const k = eventKeys('wt', EVENT);
    for (const key of [k.seq, k.admitted, k.decided, k.depth, k.outbox, k.holds, k.meta, k.users, k.category('c'), k.reservation('r')]) {
      expect(key).to.contain(`{evt-${EVENT}}`);
    }
  });

  it('a reservation id round-trips to its event id', () => {
    const id = newReservationId(EVENT, UUID);
    expect(eventIdOfReservation(id)).to.equal(EVENT);
  });

  it('a malformed reservation id names no event', () => {
    for (const bad of ['', 'x', `${EVENT}`, `${EVENT}.x`, `${EVENT}:${UUID}`, `${UUID}.${EVENT}x`, `${EVENT.toUpperCase()}.${UUID}`]) {
      expect(eventIdOfReservation(bad), bad).to.equal(undefined);
    }
  });

  it('queue names have no colon', () => {
    expect(reserveQueueName(EVENT)).to.equal(`reserve-${EVENT}`).and.not.contain(':');
  });
});
