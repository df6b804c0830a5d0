/**
 * The numbers embedding vectors are made of.
 *
 * @module
 */

/**
 * Every embedding component is one of these 129 numbers, `k/64` for `k` in -64..64: exact in
 * float32 and float64, so Go's float32 formatting and JavaScript's agree byte for byte.
 */
export const COMPONENTS: readonly number[] = Object.freeze(
  Array.from({ length: 129 }, (_, k) => (k - 64) / 64),
);

/** {@link COMPONENTS} as JSON text, for writing huge vectors without formatting numbers. */
export const COMPONENT_TEXT: readonly string[] = Object.freeze(
  COMPONENTS.map((v) => JSON.stringify(v)),
);

/** Index into {@link COMPONENTS} of component `j` of the vector of an input with this hash. */
export function componentIndex(inputHash: number, j: number): number {
  return ((Math.imul(j + 1, 0x9e3779b1) ^ inputHash) >>> 0) % COMPONENTS.length;
}
