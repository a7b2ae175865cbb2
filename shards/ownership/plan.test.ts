import { expect } from 'chai';
import { fairShare, planOwnership, type OwnershipView } from './plan.ts';

const view = (over: Partial<OwnershipView>): OwnershipView => ({
  events: [],
  owned: new Set(),
  free: new Set(),
  freeBefore: new Set(),
  liveShards: 1,
  busy: new Set(),
  ...over,
});

describe('planOwnership', () => {
  const ten = Array.from({ length: 10 }, (_, i) => `e${i}`);

  it('a lone shard takes every free event', () => {
    expect(planOwnership(view({ events: ten, free: new Set(ten) }))).to.deep.equal({ acquire: ten, release: [] });
  });

  it('two shards starting together each take only their fair share in the first round', () => {
    const plan = planOwnership(view({ events: ten, free: new Set(ten), liveShards: 2 }));
    expect(plan.acquire).to.deep.equal(['e0', 'e1', 'e2', 'e3', 'e4']);
    expect(fairShare(10, 2)).to.equal(5);
    expect(fairShare(11, 2)).to.equal(6);
  });

  it('an event free for two rounds is taken even beyond the share (its shard may be dead)', () => {
    const owned = new Set(ten.slice(0, 5));
    const free = new Set(ten.slice(5));
    expect(planOwnership(view({ events: ten, owned, free, liveShards: 2 })).acquire).to.deep.equal([]);
    expect(planOwnership(view({ events: ten, owned, free, freeBefore: new Set(['e7']), liveShards: 2 })).acquire).to.deep.equal(['e7']);
  });

  it('a shard over its share hands one quiet event over per round, and never when alone', () => {
    const owned = new Set(ten);
    expect(planOwnership(view({ events: ten, owned, liveShards: 2, busy: new Set(['e0', 'e1']) })).release).to.deep.equal(['e2']);
    expect(planOwnership(view({ events: ten, owned, liveShards: 1 })).release).to.deep.equal([]);
    expect(planOwnership(view({ events: ten, owned: new Set(ten.slice(0, 5)), liveShards: 2 })).release).to.deep.equal([]);
  });
});
