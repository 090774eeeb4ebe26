import { getEventListeners, setMaxListeners } from 'node:events';
import { LazyLinkedSignal, linkSignals } from '../../lib/common/linked-signal.util';

describe('linkSignals (one signal per run instead of AbortSignal.any per operation)', () => {
  it('aborts with the reason of the source that aborted first', () => {
    const run = new AbortController();
    const stop = new AbortController();
    const linked = linkSignals(run.signal, stop.signal);
    const cancelled = new Error('cancelled');
    run.abort(cancelled);
    stop.abort(new Error('shutdown'));
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe(cancelled);
    // Once aborted it listens to nothing any more.
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('is aborted at once, with its reason, when a source already is', () => {
    const stop = new AbortController();
    const shutdown = new Error('shutdown');
    stop.abort(shutdown);
    expect(linkSignals(new AbortController().signal, stop.signal).signal.reason).toBe(shutdown);
  });

  it('dispose leaves nothing on a long-lived source, and the signal no longer follows it', () => {
    const stop = new AbortController();
    setMaxListeners(0, stop.signal); // as the executor does with its stop signal
    const links = Array.from({ length: 1000 }, () => linkSignals(new AbortController().signal, stop.signal));
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1000);
    for (const link of links) link.dispose();
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    stop.abort(new Error('shutdown'));
    expect(links[0].signal.aborted).toBe(false);
  });
});

describe('LazyLinkedSignal', () => {
  it('listens to nothing until its signal is asked for, then follows the sources', () => {
    const run = new AbortController();
    const stop = new AbortController();
    const lazy = new LazyLinkedSignal([run.signal, stop.signal]);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    const signal = lazy.signal;
    expect(lazy.signal).toBe(signal);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    const shutdown = new Error('shutdown');
    stop.abort(shutdown);
    expect(signal.reason).toBe(shutdown);
  });

  it('dispose removes its listeners; a signal first asked for after it follows nothing but tells an abort that happened', () => {
    const stop = new AbortController();
    const used = new LazyLinkedSignal([new AbortController().signal, stop.signal]);
    void used.signal;
    used.dispose();
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);

    const late = new LazyLinkedSignal([new AbortController().signal, stop.signal]);
    late.dispose();
    expect(late.signal.aborted).toBe(false);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    stop.abort(new Error('shutdown'));
    expect(late.signal.aborted).toBe(false);

    const afterAbort = new LazyLinkedSignal([new AbortController().signal, stop.signal]);
    afterAbort.dispose();
    expect(afterAbort.signal.aborted).toBe(true);
  });
});
