// How the page words times, ids and event data.

/** "14:03:07" today, "Nov 30 14:03" otherwise, in the browser's time zone. */
export function shortTime(iso: string): string {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString(undefined, { hour12: false })
    : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
}

export function fullTime(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** "in 42 s" / "3 min ago" for a lease's end. */
export function relative(iso: string): string {
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : `${Math.round(abs / 3600)} h`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

/** One line saying what a history event's data holds (the timeline row's summary). */
export function summarise(data: unknown): string {
  if (!data || typeof data !== 'object') return '';
  const d = data as Record<string, unknown>;
  const parts: string[] = [];
  const pick = (key: string, label = key) => {
    const v = d[key];
    if (v === undefined || v === null || typeof v === 'object') return;
    parts.push(`${label}: ${String(v)}`);
  };
  if (typeof d.from === 'string' && typeof d.to === 'string') parts.push(`${d.from} → ${d.to}`);
  pick('name');
  pick('number', '#');
  pick('message');
  pick('count', 'messages');
  pick('mode');
  pick('reason');
  pick('workerId', 'worker');
  pick('error');
  pick('branchName', 'branch');
  if (Array.isArray(d.paths)) parts.push(`${d.paths.length} file(s)`);
  if (Array.isArray(d.roles)) parts.push((d.roles as unknown[]).join(', '));
  return parts.join(' · ');
}

/** JSON content as text a person reads: strings as they are, everything else indented. */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 10) : '';
}
