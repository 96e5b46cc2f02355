// The bar chart written beside results.json (results.svg): every contender's ratio per
// workload (vs piscina; W8 vs CPython), on a log scale. 'before' (--baseline) gets a paler red
// beside ours.

export function svgChart(results, meta) {
  const COLORS = { ours: '#d62728', before: '#ff9896', piscina: '#1f77b4', tinypool: '#2ca02c', workerpool: '#ff7f0e', poolifier: '#9467bd' };
  const LABELS = { ours: 'ours (concurrent-futures)', before: 'before (baseline)' };
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  // A workload with a second figure (W11: peak RSS growth) gets a second group of bars beside it.
  const wls = Object.values(results).flatMap((w) =>
    w.secondFigure
      ? [w, { id: `${w.id} RSS`, title: w.secondFigure.label, contenders: Object.fromEntries(Object.entries(w.contenders).map(([c, r]) => [c, { ratio: r.secondRatio }])) }]
      : [w],
  );
  const cs = meta.contenders;
  const ratios = [];
  for (const w of wls) for (const c of cs) if (w.contenders[c]?.ratio > 0) ratios.push(w.contenders[c].ratio);
  const logs = ratios.map((r) => Math.log2(r));
  const lo = Math.max(-6, Math.min(-1, ...logs.map((l) => Math.floor(l - 0.2))));
  const hi = Math.min(7, Math.max(1, ...logs.map((l) => Math.ceil(l + 0.2))));
  const W = Math.max(760, 110 * wls.length + 90);
  const H = 440;
  const L = 60, R = 20, T = 56, B = 96;
  const pw = W - L - R, ph = H - T - B;
  const y = (r) => T + ph - ((Math.max(lo, Math.min(hi, Math.log2(r))) - lo) / (hi - lo)) * ph;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">concurrent-futures (ours) vs peers: performance relative to piscina (W8: to CPython)</text>`);
  out.push(`<text x="${W / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">higher is better · log scale · node ${esc(meta.node)}, ${meta.cpus} CPUs, ${meta.workers} workers, ${esc(meta.mode)} run, ${esc(meta.date.slice(0, 10))}</text>`);
  // grid
  for (let k = lo; k <= hi; k++) {
    const r = 2 ** k;
    const yy = y(r).toFixed(1);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="${k === 0 ? '#333' : '#ddd'}" stroke-width="${k === 0 ? 1.2 : 1}"/>`);
    out.push(`<text x="${L - 6}" y="${(+yy + 4).toFixed(1)}" text-anchor="end" font-size="10" fill="#555">${r >= 1 ? r + '×' : '1/' + 2 ** -k + '×'}</text>`);
  }
  // bars
  const gw = pw / Math.max(1, wls.length);
  const bw = Math.min(22, (gw - 14) / Math.max(1, cs.length));
  wls.forEach((w, gi) => {
    const gx = L + gi * gw + (gw - bw * cs.length) / 2;
    cs.forEach((c, ci) => {
      const r = w.contenders[c]?.ratio;
      const x = gx + ci * bw;
      if (!(r > 0)) {
        out.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${(y(1) - 4).toFixed(1)}" text-anchor="middle" font-size="8" fill="#999">–</text>`);
        return;
      }
      const y0 = y(1), y1 = y(r);
      const top = Math.min(y0, y1), h = Math.max(1, Math.abs(y1 - y0));
      out.push(`<rect x="${(x + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[c] || '#777'}"><title>${esc(`${w.id} ${c}: ${r.toFixed(3)}×`)}</title></rect>`);
      const ly = r >= 1 ? top - 3 : top + h + 9;
      out.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${ly.toFixed(1)}" text-anchor="middle" font-size="8" fill="#333">${r >= 10 ? r.toFixed(0) : r.toFixed(r >= 1 ? 2 : 2).replace(/^0/, '')}</text>`);
    });
    const cx = L + gi * gw + gw / 2;
    out.push(`<text x="${cx.toFixed(1)}" y="${H - B + 18}" text-anchor="middle" font-size="12" font-weight="bold">${esc(w.id)}</text>`);
    const words = w.title.split(' ');
    let lineTxt = '', lines = [];
    for (const word of words) {
      if ((lineTxt + ' ' + word).trim().length > Math.max(12, Math.floor(gw / 6))) {
        lines.push(lineTxt.trim());
        lineTxt = word;
      } else lineTxt += ' ' + word;
    }
    lines.push(lineTxt.trim());
    lines.slice(0, 3).forEach((t, i) => out.push(`<text x="${cx.toFixed(1)}" y="${H - B + 31 + i * 11}" text-anchor="middle" font-size="9" fill="#555">${esc(t)}</text>`));
  });
  // legend
  let lx = L;
  const ly = H - 16;
  for (const c of cs) {
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${COLORS[c] || '#777'}"/>`);
    const label = LABELS[c] || c;
    out.push(`<text x="${lx + 16}" y="${ly + 1}" font-size="11">${esc(label)}</text>`);
    lx += 16 + 6.2 * label.length + 22;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
