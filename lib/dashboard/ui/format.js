// Times and durations as the page shows them.

const pad = (n) => String(n).padStart(2, '0');

/** 2026-12-05 14:03:07 in local time. */
export function formatTime(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} m`;
  return `${Math.floor(ms / 86_400_000)} d ${Math.round((ms % 86_400_000) / 3_600_000)} h`;
}

/** A step latency: tenths of a millisecond below 10 ms (a percentile lies between whole milliseconds), else as formatDuration. */
export function formatLatency(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 10) return `${+ms.toFixed(1)} ms`;
  return formatDuration(ms);
}

/** How long a workflow has run: its duration, or the time since it was created while PENDING. */
export function runningTime(w) {
  return w.durationMs ?? (w.status === 'PENDING' ? Date.now() - w.createdAt : null);
}
