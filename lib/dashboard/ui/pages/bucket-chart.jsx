// The overview's chart: grouped bars (started, succeeded, failed) per time bucket, drawn by uPlot on
// a canvas; its legend shows the hovered bucket's counts.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';

const SERIES = [
  ['started', '#7aa2ff'],
  ['succeeded', '#55b07d'],
  ['failed', '#e05252'],
];
const HEIGHT = 170;
const pad = (n) => String(n).padStart(2, '0');
/** 14:05, the page's 24-hour local time. */
const clock = (seconds) => {
  const d = new Date(seconds * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
/** The legend's figure: the hovered bucket's, a dash while no bucket is hovered. */
const figure = (format) => (u, value) => (value === null || value === undefined ? '—' : format(value));

/** Every bucket of the period, the empty ones too, oldest first: [x (seconds), started[], succeeded[], failed[]]. */
function columns(period, now) {
  const count = (period.bucketMs === 3_600_000 ? 24 : 12) + 1;
  const first = now - (now % period.bucketMs) - (count - 1) * period.bucketMs;
  const byAt = new Map(period.buckets.map((b) => [b.at, b]));
  const at = Array.from({ length: count }, (_, i) => first + i * period.bucketMs);
  return [at.map((t) => t / 1000), ...SERIES.map(([key]) => at.map((t) => byAt.get(t)?.[key] ?? 0))];
}

function options(width, bucketSeconds) {
  const slot = bucketSeconds / 4;
  // Three bars side by side inside each bucket: x0 shifts each series, size is a quarter bucket.
  const bars = (k) =>
    uPlot.paths.bars({
      disp: {
        x0: { unit: 1, values: (u) => u.data[0].map((x) => x - 1.5 * slot + k * slot) },
        size: { unit: 1, values: () => [slot * 0.9] },
      },
    });
  return {
    width,
    height: HEIGHT,
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    select: { show: false },
    scales: {
      x: { time: true, range: (u, min, max) => [min - bucketSeconds / 2, max + bucketSeconds / 2] },
      y: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
    },
    axes: [
      { stroke: '#6b7385', grid: { show: false }, ticks: { stroke: '#e2e5eb' }, values: (u, splits) => splits.map(clock) },
      {
        stroke: '#6b7385',
        size: 36,
        grid: { stroke: '#eef0f4' },
        ticks: { show: false },
        incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6],
      },
    ],
    series: [
      { label: 'at', value: figure(clock) },
      ...SERIES.map(([label, color], k) => ({
        label,
        fill: color,
        stroke: color,
        width: 0,
        paths: bars(k),
        points: { show: false },
        value: figure(String),
      })),
    ],
  };
}

export function BucketChart({ period, now }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    const chart = new uPlot(options(element.clientWidth, period.bucketMs / 1000), columns(period, now), element);
    const resize = new ResizeObserver(() => {
      if (element.clientWidth > 0 && element.clientWidth !== chart.width) chart.setSize({ width: element.clientWidth, height: HEIGHT });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [period, now]);
  return <div class="chart" ref={box} role="img" aria-label="Started, succeeded and failed workflows per time bucket" />;
}
