// Binary widget state -> typed arrays. Python sends {view, dtype, shape} (occlusion_widget/traits.py);
// ipywidgets hands the view over as a DataView that may start at any byteOffset of a larger buffer.

export type DType =
  "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";

export type TypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

export interface EncodedArray {
  view: DataView | ArrayBuffer | ArrayBufferView;
  dtype: string;
  shape: number[];
}

export interface NDArray<T extends TypedArray = TypedArray> {
  data: T;
  shape: number[];
  dtype: DType;
}

const CONSTRUCTORS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(CONSTRUCTORS, name);
}

/** Decode one array. Copies only when the view is not aligned for its element size. */
export function decodeArray(encoded: EncodedArray | null | undefined): NDArray | null {
  if (encoded === null || encoded === undefined) return null;
  const { view, dtype, shape } = encoded;
  if (!isDType(dtype)) throw new Error(`unsupported dtype "${dtype}"`);
  const Ctor = CONSTRUCTORS[dtype];
  const buffer = view instanceof ArrayBuffer ? view : view.buffer;
  const byteOffset = view instanceof ArrayBuffer ? 0 : view.byteOffset;
  const byteLength = view instanceof ArrayBuffer ? view.byteLength : view.byteLength;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size * Ctor.BYTES_PER_ELEMENT !== byteLength) {
    throw new Error(
      `buffer of ${byteLength} bytes does not hold a ${dtype} array of shape [${shape.join(", ")}]`,
    );
  }
  let data: TypedArray;
  if (byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
    data = new Ctor(buffer as ArrayBuffer, byteOffset, size);
  } else {
    // A typed array must be aligned to its element size: copy the bytes out first.
    const bytes = new Uint8Array(buffer as ArrayBuffer, byteOffset, byteLength).slice();
    data = new Ctor(bytes.buffer, 0, size);
  }
  return { data, shape: [...shape], dtype };
}
