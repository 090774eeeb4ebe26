// The overview's step latencies: p50, p95 and p99 of the steps' durations per workflow name, as
// grouped bars (the busiest CHART_NAMES names, by steps; the table beneath lists them all).
import { useMemo } from 'preact/hooks';
import { formatLatency } from '../format.js';
import { GroupedBars } from './grouped-bars.jsx';

const SERIES = [
  ['p50', '#a9c1ff'],
  ['p95', '#6b8ff0'],
  ['p99', '#2f4fb8'],
];
export const CHART_NAMES = 12;
/** About how wide a character of the axis's 12 px font is. */
const CHAR_PX = 7;
const Y_AXIS_PX = 56;
/** Room for this many names at least (fewer on a narrow chart), so two or three names do not make bars a card wide. */
const room = (width) => Math.max(1, Math.min(5, Math.floor((width - Y_AXIS_PX) / 110)));

/** `name` in at most `chars` characters: whole, else its method (after the last dot), else the start of that with an ellipsis. */
export function fitName(name, chars) {
  if (name.length <= chars) return name;
  const method = name.slice(name.lastIndexOf('.') + 1);
  if (method.length <= chars) return method;
  return chars <= 1 ? '…' : `${method.slice(0, chars - 1)}…`;
}

export function LatencyChart({ latencies }) {
  const [names, x, series] = useMemo(() => {
    const shown = [...latencies]
      .sort((a, b) => b.steps - a.steps)
      .slice(0, CHART_NAMES)
      .sort((a, b) => (a.workflowName < b.workflowName ? -1 : 1));
    return [shown.map((r) => r.workflowName), shown.map((_, i) => i), SERIES.map(([key, color]) => ({ label: key, color, values: shown.map((r) => r[key]) }))];
  }, [latencies]);
  return (
    <GroupedBars
      x={x}
      step={1}
      series={series}
      height={190}
      xLabel="workflow"
      xFormat={(i) => names[i]}
      xSplits={() => x}
      xValues={(u, splits) => splits.map((i) => fitName(names[i], Math.floor(((u.width - Y_AXIS_PX) / Math.max(names.length, room(u.width)) - 8) / CHAR_PX)))}
      yFormat={formatLatency}
      ySize={Y_AXIS_PX}
      least={1}
      fewest={room}
      label="Step latency percentiles (p50, p95, p99) per workflow name"
    />
  );
}
