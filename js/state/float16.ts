// IEEE 754 half precision -> float32, with no dependency: the standalone page embeds every class
// probability as float16 (half the bytes of float32) and widens it here.

const F16_EXPONENT = 0x7c00;
const F16_MANTISSA = 0x03ff;

/** One half-precision bit pattern (0..0xffff) as a number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits & F16_EXPONENT) >> 10;
  const mantissa = bits & F16_MANTISSA;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

// All 65536 values, built once on first use: decoding a million probabilities is then a lookup.
let table: Float32Array | null = null;

function lookup(): Float32Array {
  if (table === null) {
    table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) table[bits] = halfToFloat(bits);
  }
  return table;
}

/** Little-endian float16 bytes (any byteOffset, any alignment) -> Float32Array. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  if (bytes.length % 2 !== 0) {
    throw new Error(`float16 data must have an even number of bytes; got ${bytes.length}`);
  }
  const t = lookup();
  const out = new Float32Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = t[(bytes[2 * i] ?? 0) | ((bytes[2 * i + 1] ?? 0) << 8)] ?? Number.NaN;
  }
  return out;
}
