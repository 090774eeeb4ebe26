import { delay, setLongTimeout } from '../../lib/common/delay.util';

const THIRTY_DAYS = 30 * 86_400_000;
/** The longest delay setTimeout holds; past it, it fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

describe('setLongTimeout', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('fires a 30-day timer after 30 days, not before (setTimeout alone would fire at once)', () => {
    let fired = 0;
    setLongTimeout(() => fired++, THIRTY_DAYS);

    jest.advanceTimersByTime(MAX_TIMER_MS + 1);
    expect(fired).toBe(0);
    jest.advanceTimersByTime(THIRTY_DAYS - MAX_TIMER_MS - 2);
    expect(fired).toBe(0);
    jest.advanceTimersByTime(1);
    expect(fired).toBe(1);
    jest.advanceTimersByTime(THIRTY_DAYS);
    expect(fired).toBe(1);
  });

  it('fires a short timer after its delay', () => {
    let fired = false;
    setLongTimeout(() => (fired = true), 500);
    jest.advanceTimersByTime(499);
    expect(fired).toBe(false);
    jest.advanceTimersByTime(1);
    expect(fired).toBe(true);
  });

  it('never fires once cancelled, also after it re-armed itself past the first 24.8 days', () => {
    let fired = false;
    const cancel = setLongTimeout(() => (fired = true), THIRTY_DAYS);
    jest.advanceTimersByTime(MAX_TIMER_MS + 10);
    cancel();
    jest.advanceTimersByTime(THIRTY_DAYS);
    expect(fired).toBe(false);
  });

  it('with unref, does not keep the process alive', () => {
    jest.useRealTimers();
    const spy = jest.spyOn(global, 'setTimeout');
    const cancel = setLongTimeout(() => undefined, 60_000, true);
    const timer = spy.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    cancel();
    spy.mockRestore();
  });
});

describe('delay', () => {
  it('resolves after the given time', async () => {
    const started = Date.now();
    await delay(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('resolves at once for zero or a negative time', async () => {
    const started = Date.now();
    await delay(0);
    await delay(-5);
    expect(Date.now() - started).toBeLessThan(20);
  });

  it('rejects with the reason of a signal that aborts during the wait, long before the time is up', async () => {
    const abort = new AbortController();
    const stop = new Error('shutdown');
    const sleeping = delay(THIRTY_DAYS, abort.signal);
    setTimeout(() => abort.abort(stop), 20);
    await expect(sleeping).rejects.toBe(stop);
  });

  it('rejects at once with the reason of a signal already aborted, even for a zero time', async () => {
    const abort = new AbortController();
    const cancelled = new Error('cancelled');
    abort.abort(cancelled);
    await expect(delay(0, abort.signal)).rejects.toBe(cancelled);
    await expect(delay(1_000, abort.signal)).rejects.toBe(cancelled);
  });
});
