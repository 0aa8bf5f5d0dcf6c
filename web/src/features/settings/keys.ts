import type { ListedKey } from "../../api/types";

/**
 * How the keys table names a key: the part that recognises it, and a detail under it. Only
 * non-secret parts exist to show: a Glassgate key's prefix and id, an AWS pair's access key id.
 */
export function keyLabel(key: ListedKey): { name: string; detail: string } {
  return key.kind === "aws"
    ? { name: key.access_key_id, detail: "AWS key pair" }
    : { name: `${key.prefix}…`, detail: key.key_id };
}
