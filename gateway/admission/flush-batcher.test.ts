import { expect } from 'chai';
import { FlushBatcher } from './flush-batcher.ts';

/** A batcher whose first flush waits until release(), recording every flush's items. */
function heldFirstFlush(maxBatch: number) {
  const flushed: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const batcher = new FlushBatcher<number>(async (items) => {
    flushed.push(items);
    if (flushed.length === 1) await gate;
  }, maxBatch);
  return { flushed, release, batcher };
}

describe('FlushBatcher', () => {
  it('flushes the first item at once and what arrives during a flush together next, in order', async () => {
    const { flushed, release, batcher } = heldFirstFlush(100);
    const first = batcher.add(1);
    const rest = [2, 3, 4].map((n) => batcher.add(n));
    expect(flushed, 'the first flush starts without waiting').to.deep.equal([[1]]);
    expect(batcher.waiting).to.equal(3);
    release();
    await Promise.all([first, ...rest]);
    expect(flushed).to.deep.equal([[1], [2, 3, 4]]);
  });

  it('never puts more than maxBatch items in one flush', async () => {
    const { flushed, release, batcher } = heldFirstFlush(2);
    const all = [1, 2, 3, 4, 5, 6].map((n) => batcher.add(n));
    release();
    await Promise.all(all);
    expect(flushed).to.deep.equal([[1], [2, 3], [4, 5], [6]]);
  });

  it('with deferIdleFlush, an idle batcher flushes a microtask later, with what came before then', async () => {
    const flushed: number[][] = [];
    const batcher = new FlushBatcher<number>(async (items) => { flushed.push(items); }, 100, 0, { deferIdleFlush: true });
    const all = [batcher.add(1)];
    // Queued after the flush's microtask: it comes while that flush is in flight, so it goes next.
    queueMicrotask(() => all.push(batcher.add(3)));
    all.push(batcher.add(2));
    expect(flushed, 'nothing flushed inside add').to.deep.equal([]);
    await Promise.all(all);
    await all[2];
    expect(flushed).to.deep.equal([[1, 2], [3]]);
  });

  it("rejects exactly the items of a failed flush and goes on with the next", async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const batcher = new FlushBatcher<string>(async () => {
      calls++;
      if (calls === 1) await gate;
      if (calls === 2) throw new Error('queue down');
    }, 10);
    const a = batcher.add('a');
    const b = batcher.add('b');
    const c = batcher.add('c');
    release();
    await a;
    const results = await Promise.allSettled([b, c]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    await batcher.add('d');
    expect(calls).to.equal(3);
  });
});

describe('FlushBatcher with results and an interval', () => {
  it("resolves each add with its own item's result", async () => {
    const batcher = new FlushBatcher<number, string>(async (items) => items.map((n) => `r${n}`), 10);
    expect(await Promise.all([1, 2, 3].map((n) => batcher.add(n)))).to.deep.equal(['r1', 'r2', 'r3']);
  });

  it('rejects the items of a flush that returns the wrong number of results', async () => {
    const batcher = new FlushBatcher<number, string>(async () => ['only one'], 10);
    batcher.add(0);
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
  });

  it('starts flushes at least minIntervalMs apart under load, the first at once, and a full batch without waiting', async () => {
    const starts: { at: number; items: number[] }[] = [];
    const batcher = new FlushBatcher<number>(async (items) => { starts.push({ at: performance.now(), items }); }, 3, 200);
    const first = batcher.add(1);
    expect(starts.map((s) => s.items), 'an idle batcher flushes at once').to.deep.equal([[1]]);
    await first;
    // Items added during the interval wait for its end (by performance.now(), which Node's timers can
    // run ~1 ms ahead of) and go together; each flush notes its time a few µs after the batcher does.
    await Promise.all([batcher.add(2), batcher.add(3)]);
    expect(starts[1]!.items).to.deep.equal([2, 3]);
    expect(starts[1]!.at - starts[0]!.at).to.be.at.least(199.5);
    // A batch that fills up during the interval goes at once.
    const full = [4, 5, 6].map((n) => batcher.add(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(starts.map((s) => s.items)).to.deep.equal([[1], [2, 3], [4, 5, 6]]);
    await Promise.all(full);
  });
});
