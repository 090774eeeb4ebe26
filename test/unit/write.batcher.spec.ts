import { WriteBatcher } from '../../lib/system-database/write.batcher';

/**
 * A flush that records the batches it is sent and answers each item doubled; a batch stays in
 * flight until `release()` (so the writes that arrive meanwhile can be seen to wait).
 */
function recordingFlush(options: { failOn?: number[]; hold?: boolean } = {}) {
  const batches: number[][] = [];
  const held: (() => void)[] = [];
  const flush = async (items: number[]): Promise<number[]> => {
    batches.push(items);
    if (options.hold) await new Promise<void>((resolve) => held.push(resolve));
    if (items.some((item) => options.failOn?.includes(item))) throw new Error(`bad row in [${items.join(', ')}]`);
    return items.map((item) => item * 2);
  };
  const release = async () => {
    for (const resolve of held.splice(0)) resolve();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { flush, batches, release };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteBatcher (group commit)', () => {
  it('sends a lone write on its own, and its caller gets its own result', async () => {
    const { flush, batches } = recordingFlush();
    const batcher = new WriteBatcher(flush);

    await expect(batcher.add(21)).resolves.toBe(42);
    expect(batches).toEqual([[21]]);
  });

  it('sends the writes issued in the same tick together, each caller getting the result of its own row', async () => {
    const { flush, batches } = recordingFlush();
    const batcher = new WriteBatcher(flush);

    await expect(Promise.all([1, 2, 3].map((n) => batcher.add(n)))).resolves.toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('sequential writes each go out at once, one per batch (no added latency)', async () => {
    const { flush, batches } = recordingFlush();
    const batcher = new WriteBatcher(flush);

    for (const n of [1, 2, 3]) await batcher.add(n);
    expect(batches).toEqual([[1], [2], [3]]);
  });

  it('with maxInFlight batches in flight, later writes wait and then leave together as one batch', async () => {
    const { flush, batches, release } = recordingFlush({ hold: true });
    const batcher = new WriteBatcher(flush, 2);

    const first = batcher.add(1);
    await tick();
    const second = batcher.add(2);
    await tick();
    const waiting = [3, 4, 5].map((n) => batcher.add(n));
    await tick();
    expect(batches).toEqual([[1], [2]]);

    await release();
    expect(batches).toEqual([[1], [2], [3, 4, 5]]);
    await release();
    await expect(Promise.all([first, second, ...waiting])).resolves.toEqual([2, 4, 6, 8, 10]);
  });

  it('a burst of 64 writes leaves as two statements of 32, both in flight at once (two connections, two server cores)', async () => {
    const { flush, batches, release } = recordingFlush({ hold: true });
    const batcher = new WriteBatcher(flush);

    const burst = Array.from({ length: 64 }, (_, i) => batcher.add(i));
    await tick();
    expect(batches.map((b) => b.length)).toEqual([32, 32]);
    await release();
    await release();
    await expect(Promise.all(burst)).resolves.toEqual(Array.from({ length: 64 }, (_, i) => 2 * i));
  });

  it('never sends more than maxBatch rows in one batch', async () => {
    const { flush, batches } = recordingFlush();
    const batcher = new WriteBatcher(flush, 2, 4);

    await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.add(i)));
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('when a batch fails, retries its rows one by one so that only the bad row fails', async () => {
    const { flush, batches } = recordingFlush({ failOn: [2] });
    const batcher = new WriteBatcher(flush);

    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => batcher.add(n)));

    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: new Error('bad row in [2]') },
      { status: 'fulfilled', value: 6 },
    ]);
    expect(batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('a lone write that fails rejects its caller with the error of the flush', async () => {
    const { flush } = recordingFlush({ failOn: [7] });
    const batcher = new WriteBatcher(flush);

    await expect(batcher.add(7)).rejects.toThrow('bad row in [7]');
    await expect(batcher.add(8)).resolves.toBe(16);
  });
});
