import { describe, expect, it } from 'vitest';
import { copyBytes, diskBytes, parseVmSpec, shorthandSpec } from '../../src/guest/files.js';
import { InputError } from '../../src/errors.js';

describe('VM files', () => {
  it('reads a JSON VM spec with several disks, a paging file and per-file destinations', () => {
    const spec = parseVmSpec(
      JSON.stringify({
        files: [
          { name: 'vm.vmcx', kind: 'config', size: '64KiB' },
          { name: 'os.vhdx', kind: 'vhdx', size: '60GiB', type: 'dynamic', allocated: 0.5, destination: 'ssd' },
          { name: 'data.vhdx', kind: 'vhdx', size: '200GiB', destination: 'hdd' },
          { name: 'paging.vhdx', kind: 'paging', size: '8GiB', block_size: '1MiB' },
        ],
      }),
      'vm.json',
    );
    expect(spec.files).toHaveLength(4);
    expect(spec.files[1]).toMatchObject({ type: 'dynamic', allocated: 0.5, destination: 'ssd', blockSize: 32 * 2 ** 20 });
    expect(spec.files[2]).toMatchObject({ type: 'fixed', allocated: 1 });
    expect(copyBytes(spec.files[1]!)).toBe(30 * 2 ** 30);
    expect(diskBytes(spec)).toBe((60 + 200 + 8) * 2 ** 30);
  });

  it('rounds a dynamic disk up to whole allocated blocks', () => {
    const f = shorthandSpec({ disk: 100 * 2 ** 20, allocated: 0.5, configBytes: 1 }).files[1]!;
    expect(f.type).toBe('dynamic');
    expect(copyBytes(f)).toBe(64 * 2 ** 20); // 4 blocks of 32 MiB, 2 allocated... rounded up from 1.5
  });

  it.each([
    [{ files: [{ name: 'a', kind: 'vhdx' }] }, 'files[0].size'],
    [{ files: [{ name: 'a', kind: 'floppy', size: '1GiB' }] }, 'files[0].kind'],
    [{ files: [{ name: 'a', kind: 'vhdx', size: 'big' }] }, 'files[0].size'],
    [{ files: [{ name: 'a', kind: 'vhdx', size: '1GiB', block_size: '3MiB' }] }, 'files[0].block_size'],
    [{ files: [{ name: 'a', kind: 'vhdx', size: '1GiB', colour: 'red' }] }, 'files[0]'],
    [{ files: [{ name: 'a', kind: 'config', size: '1KiB' }] }, 'files'],
    [{ files: [] }, 'files'],
    [{ disks: [] }, 'files'],
    [[1, 2], '(root)'],
  ])('rejects a bad spec %j naming the field path %s', (json, path) => {
    expect(() => parseVmSpec(JSON.stringify(json), 'vm.json')).toThrow(InputError);
    expect(() => parseVmSpec(JSON.stringify(json), 'vm.json')).toThrow(`vm.json: ${path}`);
  });
});
