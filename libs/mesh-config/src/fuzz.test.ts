import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '@tsmesh/core';
import { loadYaml } from './loader';
import { validateAll } from './validate';
import { ConfigStore, type StoredObject } from './store';
import { applyFile, validateMeshObject } from './store-apply';

const seed = readFileSync(join(__dirname, '__fixtures__', 'seeds', 'notes-outline.yaml'), 'utf8');
const FILE = 'notes-outline.yaml';
/**
 * The outline with every object name made unique: it writes several versions of `recommendation`, and when a
 * later one is refused the store rightly serves the earlier valid one of the same file; with one document per key,
 * "a refused object keeps its last good version" can be checked object by object.
 */
let renamed = 0;
const uniqueSeed = seed.replace(
  /^( {2}name: )([a-z0-9-]+)$/gm,
  (_, head: string, name: string) => `${head}${name}-${++renamed}`,
);

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
});

/**
 * The store Pilot serves from, written through the step Pilot writes with (`applyFile`): whatever a file
 * becomes, the store holds only valid objects, a refused object keeps its last good version, a file that does
 * not parse changes nothing, and writing the good file again restores exactly the good state.
 */
describe('bad config never replaces good config', () => {
  const snapshot = (store: ConfigStore) => new Map(store.list().map((o) => [o.key, o.object]));

  function goodStore(): { store: ConfigStore; good: Map<string, StoredObject['object']> } {
    const store = new ConfigStore();
    const r = applyFile(store, FILE, uniqueSeed);
    expect(store.listRejections()).toEqual([]);
    expect(r.applied).toBe(loadYaml(uniqueSeed, FILE).objects.length);
    return { store, good: snapshot(store) };
  }

  interface Tally {
    /** Files refused whole. */
    files: number;
    /** Refused objects whose last good version kept serving. */
    kept: number;
  }

  /** Applies `text` over the good file, checks the invariants and counts what was refused. */
  function applyOver(text: string, tally: Tally): void {
    const { store, good } = goodStore();
    const r = applyFile(store, FILE, text);
    for (const o of store.list()) expect(validateMeshObject(o.object)).toEqual([]);
    if (r.fileError) {
      expect(snapshot(store)).toEqual(good);
      tally.files++;
    }
    for (const x of store.listRejections()) {
      if (!good.has(x.key)) continue;
      expect(store.get(x.key)?.object).toEqual(good.get(x.key));
      tally.kept++;
    }
    applyFile(store, FILE, uniqueSeed);
    expect(store.listRejections()).toEqual([]);
    expect(snapshot(store)).toEqual(good);
  }

  it('every truncation of the file', () => {
    const tally: Tally = { files: 0, kept: 0 };
    for (let cut = 0; cut < uniqueSeed.length; cut += 97) applyOver(uniqueSeed.slice(0, cut), tally);
    expect(tally.kept).toBeGreaterThan(0);
  });

  it('random byte mutations', () => {
    const rnd = new SeededRandom(42);
    const alphabet = ' \n:-[]{}"\'*&!|>#%@`\t0aZ';
    const tally: Tally = { files: 0, kept: 0 };
    for (let i = 0; i < 60; i++) {
      const chars = uniqueSeed.split('');
      for (let k = 0; k < 5; k++) {
        const at = Math.floor(rnd.next() * chars.length);
        chars[at] = alphabet[Math.floor(rnd.next() * alphabet.length)];
      }
      applyOver(chars.join(''), tally);
    }
    expect(tally.files).toBeGreaterThan(0);
    expect(tally.kept).toBeGreaterThan(0);
  });
});
