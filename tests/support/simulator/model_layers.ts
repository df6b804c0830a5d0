/**
 * The layers (blobs) a simulated model is made of, as pull, push and create report them.
 *
 * @module
 */

import { describeModel } from "./describe_model.ts";
import { hexDigest } from "./hex_digest.ts";
import { stringHash } from "./string_hash.ts";

/** One layer: `sha256:<hex>` digest and size in bytes. */
export interface ModelLayer {
  readonly digest: string;
  readonly size: number;
}

/** The weights (the model's size and digest), a 1429-byte template and a 96-byte params layer. */
export function modelLayers(name: string): ModelLayer[] {
  const record = describeModel(name, 0);
  const hash = stringHash(record.name);
  return [
    { digest: `sha256:${record.digest}`, size: record.size },
    { digest: `sha256:${hexDigest(hash ^ 0x5bd1e995)}`, size: 1429 },
    { digest: `sha256:${hexDigest(hash ^ 0x1b873593)}`, size: 96 },
  ];
}
