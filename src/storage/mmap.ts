import * as fs from 'node:fs';
import * as path from 'node:path';
import type MmapIoModule from '@riaskov/mmap-io';

/** What this library uses of the addon: the raw binding and the package's wrapper both have it. */
type MappingAddon = Pick<typeof MmapIoModule, 'map' | 'PROT_READ' | 'PROT_WRITE' | 'MAP_SHARED'>;

const PACKAGE = '@riaskov/mmap-io';

let addon: MappingAddon | undefined;

interface BinaryConfig {
  module_name?: unknown;
  module_path?: unknown;
  napi_versions?: unknown;
}

/**
 * The path of the package's built binary, computed as node-pre-gyp's find()
 * computes it (what the package's own index calls at require time): the
 * package.json's `binary.module_path` template, resolved against the
 * package's folder, with the Release configuration (find() passes no
 * options, so never Debug), `node-v<ABI>`, the platform and the arch of
 * this process, then `<module_name>.node`. Undefined where that
 * computation would differ or cannot be made: not plain Node (Electron and
 * NW.js have ABIs of their own), N-API builds, a placeholder this function
 * does not know, or no package.json to read.
 */
export function addonPath(packageJsonPath: string | undefined = packageJson()): string | undefined {
  if (packageJsonPath === undefined) return undefined;
  if (process.versions.electron || process.versions['node-webkit'] || !process.versions.modules) return undefined;
  let manifest: { name?: unknown; version?: unknown; binary?: BinaryConfig };
  try {
    manifest = JSON.parse(fs.readFileSync(packageJsonPath, 'utf8')) as typeof manifest;
  } catch {
    return undefined;
  }
  const binary = manifest.binary;
  if (!binary || typeof binary.module_name !== 'string' || typeof binary.module_path !== 'string' || binary.napi_versions !== undefined) return undefined;
  const values: Record<string, string> = {
    name: String(manifest.name),
    version: String(manifest.version),
    module_name: binary.module_name,
    configuration: 'Release',
    node_abi: `node-v${Number(process.versions.modules)}`,
    platform: process.platform,
    arch: process.arch,
  };
  const modulePath = binary.module_path.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
  if (/[{}]/.test(modulePath)) return undefined;
  return path.join(path.dirname(packageJsonPath), modulePath, `${binary.module_name}.node`);
}

function packageJson(): string | undefined {
  try {
    return require.resolve(`${PACKAGE}/package.json`);
  } catch {
    return undefined;
  }
}

/**
 * The package's own way: its index finds the binary through node-pre-gyp,
 * which parses process.argv when first required, so that an application
 * started with `--dir X` would make it look for the addon under X. It gets
 * argv stripped of user options.
 */
function requireThroughPackage(): MappingAddon {
  const argv = process.argv;
  process.argv = argv.slice(0, 2);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(PACKAGE) as MappingAddon;
  } finally {
    process.argv = argv;
  }
}

/**
 * The mmap addon, loaded when the first file is mapped (a process without a
 * directory never loads it). The built binary is required directly, where
 * node-pre-gyp would find it (see addonPath): node-pre-gyp and its hundred
 * modules cost more than everything else of a writer's start. Where that
 * file is absent, the package's own require; an error names both tries.
 */
function loadAddon(): MappingAddon {
  if (addon) return addon;
  const direct = addonPath();
  let directProblem: string;
  if (direct === undefined) directProblem = `the path of its binary could not be computed the way node-pre-gyp computes it`;
  else if (!fs.existsSync(direct)) directProblem = `${direct} does not exist`;
  else {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(direct) as MappingAddon;
      return addon;
    } catch (err) {
      directProblem = `${direct} failed to load (${(err as Error).message})`;
    }
  }
  try {
    addon = requireThroughPackage();
    return addon;
  } catch (err) {
    throw new Error(`cannot load the mmap addon of ${PACKAGE}: ${directProblem}, and require('${PACKAGE}') failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Maps `size` bytes of `fd` shared and read-write. The mapping is unmapped when the Buffer is collected. */
export function mapSharedReadWrite(fd: number, size: number): Buffer {
  const mmap = loadAddon();
  return mmap.map(size, (mmap.PROT_READ | mmap.PROT_WRITE) as 3, mmap.MAP_SHARED, fd, 0);
}
