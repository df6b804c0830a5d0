/**
 * Lazy mapping of generation steps to body parts.
 *
 * @module
 */

/** Lazily applies `map` to every item of `items`; an item mapped to `undefined` is skipped. */
export function* mapParts<T, U>(
  items: Iterable<T>,
  map: (item: T) => U | undefined,
): Generator<U, void, undefined> {
  for (const item of items) {
    const mapped = map(item);
    if (mapped !== undefined) yield mapped;
  }
}
