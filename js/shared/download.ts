// Saving what the browser made (the exported PNG, the standalone page) as a file: one helper for
// every download, so each goes through the same temporary link and is released the same way.

/**
 * Save `blob` as a file named `filename` through a temporary link.
 *
 * The object URL is revoked a second later: revoking at once can cancel the download in some
 * browsers.
 *
 * @example
 * downloadBlob(new Blob(["<html></html>"], { type: "text/html" }), "occlusion.html");
 */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
