// The executor's table of records in flight (src/executor/in-flight.ts), checked against a Map.
import test from 'ava';

import { InFlight } from '../../dist/executor/in-flight.js';

function check(t, table, model, ids) {
  t.is(table.size, model.size);
  for (const id of ids) t.is(table.get(id), model.get(id), `get(${id})`);
}

test('random adds and deletes agree with a Map, stragglers included', (t) => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  const table = new InFlight();
  const model = new Map();
  let next = 1;
  const stuck = [];
  for (let step = 0; step < 60_000; step++) {
    if (model.size === 0 || random() < 0.52) {
      const id = next++;
      const entry = { id };
      table.add(id, entry);
      model.set(id, entry);
      // Now and then a record that stays pending for a long time.
      if (random() < 0.001) stuck.push(id);
    } else {
      // Settle mostly in order, sometimes out of order; never the stuck ones (until the end).
      let id;
      if (random() < 0.8) {
        for (const key of model.keys()) if (!stuck.includes(key)) { id = key; break; }
      } else {
        const live = [...model.keys()].filter((key) => !stuck.includes(key));
        id = live[Math.floor(random() * live.length)];
      }
      if (id === undefined) continue;
      t.is(table.delete(id), true);
      model.delete(id);
      t.is(table.delete(id), false, 'a second delete finds nothing');
    }
    if (step % 5_000 === 0) check(t, table, model, [...model.keys(), next, next + 1, 0, -5, ...stuck]);
  }
  for (const id of stuck) {
    t.is(table.get(id), model.get(id));
    t.is(table.delete(id), true);
    model.delete(id);
  }
  for (const id of [...model.keys()]) {
    t.is(table.delete(id), true);
    model.delete(id);
  }
  t.is(table.size, 0);
  t.is(table.get(1), undefined);
});

test('a record pending while 100,000 later ones settle is still found, and the rest are gone', (t) => {
  const table = new InFlight();
  const first = { first: true };
  table.add(1, first);
  for (let id = 2; id < 100_002; id++) {
    table.add(id, id);
    t.is(table.delete(id), true);
  }
  t.is(table.size, 1);
  t.is(table.get(1), first);
  t.is(table.get(50_000), undefined);
  t.is(table.delete(1), true);
  t.is(table.size, 0);
});
