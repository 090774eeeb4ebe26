// Overview: started, succeeded and failed workflows over the last hour and day, and step latency
// percentiles per workflow name (a chart, the figures in a table beneath).
import { api } from '../api.js';
import { Card, DottedName, FilterLink, Grid, Loaded, PageHead, useLoad } from '../components.jsx';
import { formatLatency } from '../format.js';
import { BucketChart } from './bucket-chart.jsx';
import { CHART_NAMES, LatencyChart } from './latency-chart.jsx';

export function OverviewPage() {
  const result = useLoad(() => api('overview'));
  return (
    <Loaded result={result}>
      {(view) => (
        <>
          <PageHead title="Overview" />
          <div class="two-col">
            <Summary title="Last hour" period={view.lastHour} now={view.now} />
            <Summary title="Last 24 hours" period={view.lastDay} now={view.now} />
          </div>
          <Card title="Step latency per workflow (last hour)" id="latency">
            {view.stepLatencies.length > 0 && <LatencyChart latencies={view.stepLatencies} />}
            {view.stepLatencies.length > CHART_NAMES && (
              <p class="chart-note muted">{`The chart shows the ${CHART_NAMES} names with the most steps; the table lists all ${view.stepLatencies.length}.`}</p>
            )}
            <Grid
              items={view.stepLatencies}
              empty="No step finished in the last hour."
              head={['Workflow', '>Steps', '>p50', '>p95', '>p99']}
              row={(r) => [
                <td class="strong">
                  <FilterLink filters={{ name: r.workflowName }}>
                    <DottedName name={r.workflowName} />
                  </FilterLink>
                </td>,
                <td class="num">{String(r.steps)}</td>,
                <td class="num">{formatLatency(r.p50)}</td>,
                <td class="num">{formatLatency(r.p95)}</td>,
                <td class="num">{formatLatency(r.p99)}</td>,
              ]}
            />
          </Card>
        </>
      )}
    </Loaded>
  );
}

function Summary({ title, period, now }) {
  const total = (key) => period.buckets.reduce((sum, b) => sum + b[key], 0);
  return (
    <Card title={title}>
      <div class="stats">
        <Stat label="Started" value={total('started')} kind="run" />
        <Stat label="Succeeded" value={total('succeeded')} kind="ok" />
        <Stat label="Failed" value={total('failed')} kind="bad" />
      </div>
      <BucketChart period={period} now={now} />
    </Card>
  );
}

function Stat({ label, value, kind }) {
  return (
    <div class={`stat stat-${kind}`}>
      <div class="stat-value">{String(value)}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}
