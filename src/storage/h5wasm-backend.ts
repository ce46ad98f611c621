import fs from 'node:fs';
import { Dataset, Group, type File as H5File } from 'h5wasm/node';
import {
  BYTES_PER_ELEMENT,
  isText,
  NUMERIC_ARRAY_TYPES,
  product,
  type ExtendibleDataset,
  type ExtendibleDatasetSpec,
  type Hdf5Backend,
  type Hdf5File,
  type Hdf5Value,
  type NumericArray,
  type NumericDtype,
} from './hdf5-backend.js';
import { loadH5wasm, type H5wasm } from '../hdf5/h5wasm-runtime.js';
import { LIBVER_BOUNDS } from '../hdf5/hdf5-layout.js';

/**
 * The HDF5 backend over h5wasm: HDF5 compiled to WebAssembly, which works
 * everywhere Node does, at the cost of a copy of every write into the wasm
 * heap and about 2.5x the CPU of the native library.
 */
export async function loadH5wasmBackend(): Promise<Hdf5Backend> {
  const h5 = await loadH5wasm();
  return {
    name: 'h5wasm',
    description: `h5wasm ${h5wasmVersion()}`,
    createFile: (path, mode) => new H5wasmFile(createH5File(h5, path, mode)),
  };
}

function createH5File(h5: H5wasm, path: string, mode: 'exclusive' | 'truncate'): H5File {
  return new h5.File(path, mode === 'exclusive' ? 'x' : 'w', { libver: LIBVER_BOUNDS });
}

let version: string | null = null;

/** h5wasm's package version (its package.json is not exported, so it is read from beside the module). */
function h5wasmVersion(): string {
  if (version !== null) return version;
  try {
    const packageJson = new URL('../../package.json', import.meta.resolve('h5wasm/node'));
    const parsed = JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version?: unknown };
    version = typeof parsed.version === 'string' ? parsed.version : 'unknown version';
  } catch {
    version = 'unknown version';
  }
  return version;
}

const H5WASM_DTYPE: Record<NumericDtype, string> = {
  uint8: '<B',
  int8: '<b',
  uint16: '<H',
  uint32: '<I',
  int32: '<i',
  int64: '<q',
  uint64: '<Q',
  float32: '<f',
  float64: '<d',
};

function splitPath(path: string): { parent: string; name: string } {
  const slash = path.lastIndexOf('/');
  return { parent: slash <= 0 ? '/' : path.slice(0, slash), name: path.slice(slash + 1) };
}

class H5wasmFile implements Hdf5File {
  /** h5wasm objects are cheap handles, but looking one up by path is an HDF5 call: keep the ones used again. */
  private readonly objects = new Map<string, Group | Dataset>();

  constructor(private readonly file: H5File) {
    this.objects.set('/', file);
  }

  createGroup(path: string): void {
    const { parent, name } = splitPath(path);
    this.objects.set(path, this.group(parent).create_group(name));
  }

  setAttribute(objectPath: string, name: string, value: Hdf5Value): void {
    const target = this.object(objectPath);
    if (name in target.attrs) target.delete_attribute(name);
    if (typeof value === 'string') target.create_attribute(name, value);
    else if (isText(value)) target.create_attribute(name, [...value]);
    else target.create_attribute(name, value.data, [...value.shape], H5WASM_DTYPE[value.dtype]);
  }

  createDataset(path: string, value: Hdf5Value): void {
    const { parent, name } = splitPath(path);
    const group = this.group(parent);
    if (typeof value === 'string') group.create_dataset({ name, data: value });
    else if (isText(value)) group.create_dataset({ name, data: [...value] });
    else group.create_dataset({ name, data: value.data, shape: [...value.shape], dtype: H5WASM_DTYPE[value.dtype] });
  }

  createExtendible(path: string, spec: ExtendibleDatasetSpec): ExtendibleDataset {
    const { parent, name } = splitPath(path);
    const dataset = this.group(parent).create_dataset({
      name,
      data: new NUMERIC_ARRAY_TYPES[spec.dtype](0),
      shape: [0, ...spec.rowShape],
      dtype: H5WASM_DTYPE[spec.dtype],
      maxshape: [null, ...spec.rowShape],
      chunks: [spec.chunkRows, ...spec.rowShape],
    });
    this.objects.set(path, dataset);
    return new H5wasmExtendible(dataset, spec);
  }

  flush(): void {
    this.file.flush();
  }

  close(): void {
    this.file.close();
  }

  private object(path: string): Group | Dataset {
    const cached = this.objects.get(path);
    if (cached !== undefined) return cached;
    const found = this.file.get(path);
    if (!(found instanceof Group) && !(found instanceof Dataset)) throw new Error(`${path}: no group or dataset there`);
    this.objects.set(path, found);
    return found;
  }

  private group(path: string): Group {
    const found = this.object(path);
    if (!(found instanceof Group)) throw new Error(`${path} is not a group`);
    return found;
  }
}

class H5wasmExtendible implements ExtendibleDataset {
  private readonly rowElements: number;
  private readonly rowBytes: number;
  /** For rows whose bytes start at an offset no typed array of the element type can view. */
  private alignedCopy: NumericArray | null = null;

  constructor(
    private readonly dataset: Dataset,
    private readonly spec: ExtendibleDatasetSpec,
  ) {
    this.rowElements = product(spec.rowShape);
    this.rowBytes = this.rowElements * BYTES_PER_ELEMENT[spec.dtype];
  }

  resize(rows: number): void {
    this.dataset.resize([rows, ...this.spec.rowShape]);
  }

  /** Only the real rows are written: h5wasm goes through a hyperslab, not a raw chunk. */
  writeChunk(firstRow: number, rows: number, bytes: Uint8Array): void {
    this.dataset.write_slice([[firstRow, firstRow + rows]], this.typed(bytes.subarray(0, rows * this.rowBytes)));
  }

  writeRows(firstRow: number, values: NumericArray): void {
    this.dataset.write_slice([[firstRow, firstRow + values.length / this.rowElements]], values);
  }

  /** h5wasm takes the values as a typed array of the dataset's type; a view when the alignment allows, else a copy. */
  private typed(bytes: Uint8Array): NumericArray {
    const ArrayType = NUMERIC_ARRAY_TYPES[this.spec.dtype];
    const size = BYTES_PER_ELEMENT[this.spec.dtype];
    const length = bytes.byteLength / size;
    if (bytes.byteOffset % size === 0) return new ArrayType(bytes.buffer, bytes.byteOffset, length);
    if (this.alignedCopy === null || this.alignedCopy.length !== length) this.alignedCopy = new ArrayType(length);
    new Uint8Array(this.alignedCopy.buffer, 0, bytes.byteLength).set(bytes);
    return this.alignedCopy;
  }
}
