// Grouped bars drawn by uPlot on a canvas: a group per x (a time bucket or a category), a bar per
// series side by side; the legend shows the hovered group's figures. The y axis ends on a gridline
// at or above the tallest bar, so no bar rises past the top label.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';

const AXIS = '#6b7385';
/** Steps of the y gridlines: 1, 2 and 5 times a power of ten. */
const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8];

/** The y axis for values up to `max`: a step with at most four gridlines above zero, the top one above `max` (some room over the tallest bar). */
export function yTicks(max, least) {
  const top = Math.max(max * 1.08, least);
  const step = STEPS.find((s) => top / s <= 4) ?? STEPS[STEPS.length - 1];
  const count = Math.ceil(top / step - 1e-9);
  return Array.from({ length: count + 1 }, (_, i) => +(i * step).toPrecision(12));
}

/** The legend's figure: the hovered group's, a dash while none is hovered. */
const figure = (format) => (u, value) => (value === null || value === undefined ? '—' : format(value));

/**
 * `x`: the groups' positions, evenly `step` apart (seconds for a time axis); `series`: [{ label,
 * color, values }]; `xLabel` names the legend's first figure, `xFormat` writes an x; `xValues(u,
 * splits)` the axis labels (at `xSplits(u)`, else uPlot's); `yFormat` a y figure, `ySize` the y
 * axis's width; `least` the lowest top of the y axis; `fewest` the groups the x axis has room for
 * at least (or a function of the chart's width giving it). The caller memoizes `x` and `series`: a new
 * one draws the chart anew.
 */
export function GroupedBars({
  x,
  step,
  time = false,
  series,
  xLabel,
  xFormat,
  xValues,
  xSplits,
  yFormat,
  ySize = 36,
  least = 1,
  fewest = 0,
  height = 170,
  label,
}) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    const data = [x, ...series.map((s) => s.values)];
    const settings = { width: element.clientWidth, height, x, step, time, series, xLabel, xFormat, xValues, xSplits, yFormat, ySize, least, fewest };
    const chart = new uPlot(options(settings), data, element);
    const resize = new ResizeObserver(() => {
      if (element.clientWidth > 0 && element.clientWidth !== chart.width) chart.setSize({ width: element.clientWidth, height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [x, series]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}

function options({ width, height, x, step, time, series, xLabel, xFormat, xValues, xSplits, yFormat, ySize, least, fewest }) {
  const n = series.length;
  const spare = (Math.max(0, (typeof fewest === 'function' ? fewest(width) : fewest) - x.length) * step) / 2;
  const slot = step / (n + 1);
  // The bars side by side inside each group: x0 shifts each series, size is one slot.
  const bars = (k) =>
    uPlot.paths.bars({
      disp: {
        x0: { unit: 1, values: (u) => u.data[0].map((at) => at - (n / 2) * slot + k * slot) },
        size: { unit: 1, values: () => [slot * 0.9] },
      },
    });
  const max = Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const ticks = yTicks(max, least);
  return {
    width,
    height,
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    select: { show: false },
    scales: {
      // At least `fewest` groups' room: a few groups stay their width, centred.
      x: { time, range: () => [x[0] - step / 2 - spare, x[x.length - 1] + step / 2 + spare] },
      y: { range: () => [0, ticks[ticks.length - 1]] },
    },
    axes: [
      {
        stroke: AXIS,
        grid: { show: false },
        ticks: { stroke: '#e2e5eb' },
        ...(xSplits ? { splits: xSplits } : {}),
        values: xValues,
      },
      {
        stroke: AXIS,
        size: ySize,
        grid: { stroke: '#eef0f4' },
        ticks: { show: false },
        splits: () => ticks,
        values: (u, splits) => splits.map(yFormat),
      },
    ],
    series: [
      { label: xLabel, value: figure(xFormat) },
      ...series.map((s, k) => ({
        label: s.label,
        fill: s.color,
        stroke: s.color,
        width: 0,
        paths: bars(k),
        points: { show: false },
        value: figure(yFormat),
      })),
    ],
  };
}
