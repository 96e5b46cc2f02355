// Figures: formatting for the table and progress lines.

function fmtRate(x) {
  if (x >= 1e9) return (x / 1e9).toFixed(2) + 'G/s';
  if (x >= 1e6) return (x / 1e6).toFixed(2) + 'M/s';
  if (x >= 1e3) return (x / 1e3).toFixed(1) + 'k/s';
  return x.toFixed(0) + '/s';
}
export const fmt = {
  rate: fmtRate,
  us: (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1)) + ' µs',
  ms: (x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)) + ' ms',
  mb: (x) => x.toFixed(1) + ' MB',
  x: (x) => x.toFixed(2) + '×',
};
