/** A figure for display: four significant digits, exponent form when tiny or huge. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return Number(value.toPrecision(4)).toExponential();
  return String(Number(value.toPrecision(4)));
}

/** A duration in seconds as `1h 02m`, `3m 05s` or `12.3s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toPrecision(3))}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(r).padStart(2, '0')}s`;
}

/** An ISO time as `2025-01-31 14:05` (UTC), or the text as given when it does not parse. */
export function formatTime(text: string): string {
  const time = Date.parse(text);
  if (Number.isNaN(time)) return text;
  return new Date(time).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** Up to `limit` items spread evenly over the list, always with its first and last. */
export function evenlySpaced<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  if (limit <= 1) return items.slice(-1);
  const picked: T[] = [];
  for (let i = 0; i < limit; i += 1) picked.push(items[Math.round((i * (items.length - 1)) / (limit - 1))]!);
  return picked;
}
