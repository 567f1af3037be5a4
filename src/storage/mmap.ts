import type MmapIoModule from '@riaskov/mmap-io';

type MmapIo = typeof MmapIoModule;

let mmapIo: MmapIo | undefined;

/**
 * @riaskov/mmap-io finds its binary through node-pre-gyp, which parses
 * process.argv when first required: an application started with `--dir X`
 * would make it look for the addon under X. Load it with argv stripped of
 * user options.
 */
function loadMmapIo(): MmapIo {
  if (mmapIo) return mmapIo;
  const argv = process.argv;
  process.argv = argv.slice(0, 2);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mmapIo = require('@riaskov/mmap-io') as MmapIo;
  } finally {
    process.argv = argv;
  }
  return mmapIo;
}

/** Maps `size` bytes of `fd` shared and read-write. The mapping is unmapped when the Buffer is collected. */
export function mapSharedReadWrite(fd: number, size: number): Buffer {
  const mmap = loadMmapIo();
  return mmap.map(size, (mmap.PROT_READ | mmap.PROT_WRITE) as 3, mmap.MAP_SHARED, fd, 0);
}
