// The workloads, in the order they run and appear in the table.
//
// Each workload: sample(contender) -> raw number (in `unit`), reference() -> raw number
// or undefined, figure(raw median, ctx) -> the number shown in the table.
// `better` says which direction of the figure is better, for the ratios.
// Optional: setup()/teardown() around the workload, skip(contender) -> reason or null,
// variants { name: base contender } (extra players, run when their base is; reported in the
// notes), extra(median, contender) -> more fields for results.json, cellSuffix(result),
// refFigure(), refFmt (the reference cell's format, when its unit is not the workload's),
// sampleFmt, ratioBase: 'reference' (W8: vs CPython instead of piscina), notes(result, all
// results) -> lines under the table, group (`--only GROUP` runs every workload of the group: W11
// and W11t; W10: W10a, W10c, W10b and W10p), secondFigure { field, better, label } (a field of extra()'s, charted relative to
// piscina's beside the ratio: W11's peak RSS growth).
//
// Import this module only after lib/config.mjs's configure(): repetitions, titles and
// parameters depend on --quick.

import w1 from './w1.mjs';
import w2 from './w2.mjs';
import w3 from './w3.mjs';
import w4 from './w4.mjs';
import w5 from './w5.mjs';
import w6 from './w6.mjs';
import w7 from './w7.mjs';
import w8 from './w8.mjs';
import w9 from './w9.mjs';
import { w10a, w10b, w10c, w10p } from './w10.mjs';
import { w11, w11t } from './w11.mjs';
import w12 from './w12.mjs';

export const WORKLOADS = [w1, w2, w3, w4, w5, w6, w7, w8, w9, w10a, w10c, w10b, w10p, w11, w11t, w12];
