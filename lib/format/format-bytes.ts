/** Bytes in words a reader scans: 1.2 GB, 340 kB. */
export function formatBytes(value: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = value;
  let unit = 0;
  while (Math.abs(v) >= 1000 && unit < units.length - 1) {
    v /= 1000;
    unit++;
  }
  return `${unit === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : 1)} ${units[unit]}`;
}
