import { join } from 'node:path';
import { listConfigFiles, loadFile } from './loader';
import { validateAll } from './validate';
import { formatConfigError } from './types/object';

const dir = join(__dirname, '__fixtures__', 'seeds');

describe('every seed listing loads and validates', () => {
  const files = listConfigFiles(dir);

  it('finds the extracted listings', () => {
    expect(files.length).toBeGreaterThanOrEqual(14);
  });

  it.each(files.map((f) => [f.slice(dir.length + 1), f]))('%s', (_name, file) => {
    const loaded = loadFile(file);
    expect(loaded.errors.map(formatConfigError)).toEqual([]);
    expect(loaded.objects.length).toBeGreaterThan(0);
    const res = validateAll(loaded.objects);
    const errors = res.errors.filter((e) => e.severity === 'error').map(formatConfigError);
    expect(errors).toEqual([]);
    expect(res.objects).toHaveLength(loaded.objects.length);
  });
});
