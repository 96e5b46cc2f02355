// The text table printed at the end of a run, and the notes under it.

import { PROCESS_MODE } from '../lib/pools.mjs';

/** The table: one row per selected workload, one column per contender in `cols` (meta.contenders). */
export function formatTable(selected, results, cols) {
  const header = ['Workload', 'Metric', ...cols, 'Reference'];
  const rows = [];
  for (const wl of selected) {
    const res = results[wl.id];
    const row = [`${wl.id} ${wl.title}`, wl.metric];
    for (const c of cols) {
      const r = res.contenders[c];
      if (!r || r.figure === undefined) {
        row.push(r?.skipped ? (r.skipped.startsWith('piscina has no') ? 'n/a' : 'skipped') : r?.error ? 'failed' : '—');
        continue;
      }
      let cell = wl.fmt(r.figure) + (wl.cellSuffix ? wl.cellSuffix(r) : '');
      if (r.ratio !== undefined) cell += ` (${r.ratio.toFixed(2)}×)`;
      row.push(cell);
    }
    const ref = res.reference;
    row.push(ref && ref.figure !== undefined ? `${ref.label} ${(wl.refFmt || wl.fmt)(ref.figure)}` : ref ? `${ref.label} —` : '');
    rows.push(row);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [
    line(header),
    '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|',
    ...rows.map(line),
  ].join('\n');
}

/**
 * The notes under the table, one string per line.
 *   skipped:     { ours?: reason, before?: reason } (a package that did not load)
 *   threadCheck: { ours?: warning, before?: warning } (tasks seen on the main thread)
 */
export function formatNotes({ selected, results, meta, totalS, skipped = {}, threadCheck = {} }) {
  const cols = meta.contenders;
  const notes = [
    `node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}), ${meta.workers} workers everywhere, ${meta.mode} run, ${totalS.toFixed(0)} s.`,
    '(×r) = relative performance vs piscina, > 1 is better (for µs/ms/MB it is piscina / contender); W8 is vs CPython\'s ProcessPoolExecutor.',
  ];
  if (meta.baseline) {
    const b = meta.baseline;
    notes.push(
      `before = the same package built in ${b.dir}${b.commit ? ` (commit ${b.commit}${b.dirty ? ', uncommitted changes' : ''})` : ''}; ` +
        'ours / before = relative performance of ours vs before, > 1 means ours is better (for µs/ms/MB it is before / ours).',
    );
    for (const wl of selected) {
      const res = results[wl.id];
      if (res.oursVsBefore !== undefined) {
        notes.push(`${wl.id} ours / before: ${res.oursVsBefore.toFixed(2)}×`);
        continue;
      }
      const why = ['ours', 'before']
        .map((c) => [c, res.contenders?.[c]])
        .filter(([, r]) => !r || r.figure === undefined || !Number.isFinite(r.figure))
        .map(([c, r]) => `${c} ${r?.skipped ? 'skipped' : r?.error ? 'failed' : 'has no figure'}`);
      notes.push(`${wl.id} ours / before: —${why.length ? ` (${why.join(', ')})` : res.error ? ` (${res.error})` : ''}`);
    }
  }
  const has = (id) => selected.some((w) => w.id === id);
  if (has('W4')) notes.push('W4 cell: wall time and parallel efficiency t1 / (workers · tN), t1 = the same 40 calls on the main thread.');
  if (has('W5')) notes.push('W5 cell: speed-up t1 / tN over the same 64 chunks summed on the main thread.');
  if (has('W8'))
    notes.push('W8 runs process pools: ' + Object.entries(PROCESS_MODE).filter(([k, v]) => v && cols.includes(k)).map(([k, v]) => `${k} ${v}`).join(', ') + '; CPython = concurrent.futures.ProcessPoolExecutor, submit() per task.');
  for (const wl of selected)
    for (const [v, r] of Object.entries(results[wl.id].variants || {}))
      if (r.figure !== undefined)
        notes.push(
          wl.variantNote
            ? wl.variantNote(v, r)
            : `${wl.id} ${v} (one task per item, like the peers): ${wl.fmt(r.figure)}${r.ratio !== undefined ? ` (${r.ratio.toFixed(2)}× piscina)` : ''}; the '${wl.variants[v]}' column uses map()'s default chunksize 'auto'.`,
        );
  // A workload's own lines (W1's floor, W11's RSS, W12's submit times).
  for (const wl of selected) if (wl.notes) notes.push(...wl.notes(results[wl.id], results));
  for (const c of ['ours', 'before']) if (skipped[c]) notes.push(`${c} skipped: ${skipped[c]}`);
  for (const c of ['ours', 'before']) if (threadCheck[c]) notes.push(`warning: ${threadCheck[c]}`);
  for (const [k, v] of Object.entries(meta.peerQuirks)) notes.push(`quirk: ${k} (${v}×)`);
  const loadStart = meta.loadAvg.start;
  if (loadStart[0] > meta.cpus * 0.5)
    notes.push(`note: the machine was already busy when the run started (1-min load average ${loadStart[0]} on ${meta.cpus} CPUs): figures are noisy.`);
  for (const [id, res] of Object.entries(results))
    for (const [c, r] of Object.entries(res.contenders)) if (r.error) notes.push(`${id} ${c} failed: ${r.error}`);
  return notes;
}
