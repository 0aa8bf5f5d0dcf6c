import { describe, expect, it } from "vitest";

import type { AwsKeyPair, Key } from "../../api/types";
import { keyLabel } from "./keys";

const dates = { created_at: "2026-01-01T00:00:00Z", revoked_at: null };

describe("keyLabel", () => {
  it("names a Glassgate key by its prefix, with its id under it", () => {
    const key: Key = { kind: "glassgate", key_id: "key_0123456789ab", prefix: "gg-AbCd", project: "checkout", ...dates };
    expect(keyLabel(key)).toEqual({ name: "gg-AbCd…", detail: "key_0123456789ab" });
  });

  it("names an AWS key pair by its access key id, and says what it is", () => {
    const pair: AwsKeyPair = {
      kind: "aws",
      key_id: "AKGGABCDEFGHIJKLMNOP",
      access_key_id: "AKGGABCDEFGHIJKLMNOP",
      project: "bedrock-team",
      ...dates,
    };
    expect(keyLabel(pair)).toEqual({ name: "AKGGABCDEFGHIJKLMNOP", detail: "AWS key pair" });
  });
});
