import { afterEach, describe, expect, it, vi } from "vitest";
import { downloadBlob } from "./download";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("downloadBlob", () => {
  it("clicks a link to the blob named as the file, and releases the blob a second later", () => {
    vi.useFakeTimers();
    const revoke = vi.fn();
    Object.assign(URL, { createObjectURL: vi.fn(() => "blob:made"), revokeObjectURL: revoke });
    const clicked: [string, string][] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicked.push([this.href, this.download]);
    });
    downloadBlob(new Blob(["png"], { type: "image/png" }), "occlusion-map.png");
    expect(clicked).toEqual([["blob:made", "occlusion-map.png"]]);
    // Released later, not at once: revoking during the click can cancel the download.
    expect(revoke).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(revoke).toHaveBeenCalledWith("blob:made");
  });
});
