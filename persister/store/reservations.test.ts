import { expect } from 'chai';
import type { ReservationSnapshot } from '../../core/contracts.ts';
import { isDataError, newestPerReservation } from './reservations.ts';

const snap = (id: string, version: number): ReservationSnapshot => ({
  schema: 1, type: 't', reservation_id: id, event_id: 'e', category_id: 'c', category: 'A', user_id: 'u', qty: 1,
  status: 'queued', seq_arrival: 1, created_at: 1, updated_at: 1, version,
});

describe('newestPerReservation', () => {
  it('keeps only the highest version of each reservation, whatever the order', () => {
    const rows = newestPerReservation([snap('a', 1), snap('b', 2), snap('a', 3), snap('a', 2), snap('b', 1)]);
    expect(rows.map((r) => [r.reservation_id, r.version])).to.deep.equal([['a', 3], ['b', 2]]);
  });
});

describe('isDataError', () => {
  it('tells constraint and data errors from connection trouble', () => {
    expect(isDataError({ code: '23503' })).to.equal(true);
    expect(isDataError({ code: '22P02' })).to.equal(true);
    expect(isDataError({ code: '57P01' })).to.equal(false);
    expect(isDataError(new Error('ECONNREFUSED'))).to.equal(false);
  });
});
