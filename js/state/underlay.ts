// The image as drawn under a map: light grey, so none of its colours passes for a map colour (a
// dark blue background would otherwise read as the diverging map's "occluding raises it"). The
// twin of `underlay` in occlusion_widget/plot/_common.py: the same integer arithmetic, so the
// widget, the page, save() and every figure draw the same greys.

/** RGBA pixels -> their luminance as grey, lifted into 64..255; alpha is kept. */
export function underlayPixels(pixels: Uint8ClampedArray): Uint8ClampedArray {
  const out = new Uint8ClampedArray(pixels.length);
  for (let i = 0; i + 3 < pixels.length; i += 4) {
    const luma = 299 * (pixels[i] ?? 0) + 587 * (pixels[i + 1] ?? 0) + 114 * (pixels[i + 2] ?? 0);
    const grey = Math.floor((3 * luma + 258000) / 4000); // 64 + 3/4 of the luminance, rounded
    out[i] = grey;
    out[i + 1] = grey;
    out[i + 2] = grey;
    out[i + 3] = pixels[i + 3] ?? 255;
  }
  return out;
}
