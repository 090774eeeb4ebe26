// The overview's activity chart: started, succeeded and failed workflows per time bucket, as
// grouped bars. Its x axis starts one bucket before the first bucket with any workflow (showing at
// least MIN_BUCKETS), so a period whose work sits in its last minutes still has bars one can read.
import { useMemo } from 'preact/hooks';
import { GroupedBars } from './grouped-bars.jsx';

const SERIES = [
  ['started', '#7aa2ff'],
  ['succeeded', '#55b07d'],
  ['failed', '#e05252'],
];
const MIN_BUCKETS = 6;
const pad = (n) => String(n).padStart(2, '0');
/** 14:05, the page's 24-hour local time. */
const clock = (seconds) => {
  const d = new Date(seconds * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

/** The buckets shown (start times in ms, oldest first, the empty ones too) and whether earlier, empty ones were left out. */
export function shownBuckets(period, now) {
  const count = (period.bucketMs === 3_600_000 ? 24 : 12) + 1;
  const first = now - (now % period.bucketMs) - (count - 1) * period.bucketMs;
  const all = Array.from({ length: count }, (_, i) => first + i * period.bucketMs);
  const busy = new Set(period.buckets.map((b) => b.at));
  const firstBusy = all.findIndex((t) => busy.has(t));
  const from = firstBusy < 0 ? 0 : Math.min(Math.max(0, firstBusy - 1), count - MIN_BUCKETS);
  return { at: all.slice(from), trimmed: from > 0 };
}

export function BucketChart({ period, now }) {
  const { at, trimmed } = shownBuckets(period, now);
  const [x, series] = useMemo(() => {
    const byAt = new Map(period.buckets.map((b) => [b.at, b]));
    return [at.map((t) => t / 1000), SERIES.map(([key, color]) => ({ label: key, color, values: at.map((t) => byAt.get(t)?.[key] ?? 0) }))];
  }, [period, now]);
  return (
    <>
      <GroupedBars
        x={x}
        step={period.bucketMs / 1000}
        time
        series={series}
        xLabel="at"
        xFormat={clock}
        xValues={(u, splits) => splits.map(clock)}
        yFormat={String}
        label="Started, succeeded and failed workflows per time bucket"
      />
      {trimmed && <p class="chart-note muted">{`Nothing earlier than ${clock(x[0])} in this period.`}</p>}
    </>
  );
}
