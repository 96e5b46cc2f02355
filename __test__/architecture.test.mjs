// The layering docs/ARCHITECTURE.md describes: each folder of src/ imports only from itself and
// the folders below it, so that the public building blocks never depend on the machinery.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'src');
const LAYERS = ['distributed', 'executor', 'hosts', 'worker', 'api', 'wire'];

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

test('each folder of src/ imports only from itself and the folders below it', (t) => {
  const upward = [];
  let imports = 0;
  for (const file of sources(src)) {
    const from = path.relative(src, file).split(path.sep)[0];
    if (!LAYERS.includes(from)) continue; // src/index.ts exports from every layer
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const to = path.relative(src, path.resolve(path.dirname(file), specifier)).split(path.sep)[0];
      imports++;
      if (!LAYERS.includes(to)) continue; // the generated addon loader, outside src/
      if (LAYERS.indexOf(to) < LAYERS.indexOf(from)) upward.push(`${path.relative(src, file)} imports ${specifier}`);
    }
  }
  t.true(imports > 50, `found ${imports} relative imports`);
  t.deepEqual(upward, []);
});
