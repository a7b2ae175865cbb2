import { expect } from 'chai';
import type { AdmitRequest, AdmitResult } from '../../core/reservation-store.ts';
import { Admissions } from './admissions.ts';

describe('Admissions', () => {
  const request = (eventId: string, n: number): AdmitRequest => ({
    reservationId: `${eventId}.r${n}`, userId: `u${n}`, eventId, categoryId: 'c1', categoryName: 'A', qty: 1,
  });

  it("sends one event's requests that arrive during a call together in the next, other events apart, each its own result", async () => {
    const calls: { eventId: string; ids: string[] }[] = [];
    const admissions = new Admissions({
      admitBatch: async (eventId: string, requests: readonly AdmitRequest[]): Promise<AdmitResult[]> => {
        calls.push({ eventId, ids: requests.map((r) => r.reservationId) });
        await new Promise((resolve) => setImmediate(resolve));
        return requests.map((r, i) => ({ kind: 'admitted', seqArrival: i + 1, position: Number(r.reservationId.slice(-1)), createdAtMs: 0 }));
      },
    });
    const results = await Promise.all([
      admissions.admit(request('e1', 1)),
      admissions.admit(request('e1', 2)),
      admissions.admit(request('e2', 3)),
      admissions.admit(request('e1', 4)),
    ]);
    expect(calls).to.deep.equal([
      { eventId: 'e1', ids: ['e1.r1'] },
      { eventId: 'e2', ids: ['e2.r3'] },
      { eventId: 'e1', ids: ['e1.r2', 'e1.r4'] },
    ]);
    expect(results.map((r) => (r.kind === 'admitted' ? r.position : undefined))).to.deep.equal([1, 2, 3, 4]);
  });
});
