import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '@tsmesh/core';
import { loadYaml } from './loader';
import { validateAll } from './validate';
import { ConfigStore } from './store';

const seed = readFileSync(join(__dirname, '__fixtures__', 'seeds', 'notes-outline.yaml'), 'utf8');

/** Loading and validating must never throw, whatever the bytes: errors are values. */
describe('truncated and mutated input never throws', () => {
  it('every truncation of a multi-document file', () => {
    let objects = 0;
    let errors = 0;
    for (let cut = 0; cut < seed.length; cut += 47) {
      const r = loadYaml(seed.slice(0, cut), 'cut.yaml');
      const v = validateAll(r.objects);
      objects += v.objects.length;
      errors += r.errors.length + v.errors.length;
    }
    expect(objects).toBeGreaterThan(0);
    expect(errors).toBeGreaterThan(0);
  });

  it('random byte mutations, applied to a store', () => {
    const rnd = new SeededRandom(42);
    const alphabet = ' \n:-[]{}"\'*&!|>#%@`\t0aZ';
    const store = new ConfigStore();
    let rejected = 0;
    for (let i = 0; i < 60; i++) {
      const chars = seed.split('');
      for (let k = 0; k < 5; k++) {
        const at = Math.floor(rnd.next() * chars.length);
        chars[at] = alphabet[Math.floor(rnd.next() * alphabet.length)];
      }
      const r = loadYaml(chars.join(''), 'mutant.yaml');
      rejected += store.apply(r.objects).rejected.length + r.errors.length;
    }
    expect(rejected).toBeGreaterThan(0);
    expect(store.list().length).toBeGreaterThan(0);
  });
});
