// What the model saw: the image with a region filled by the baseline (occlude), or the baseline
// with only the region showing the image (reveal). One composition for the inspector's grid
// cells (a patch box) and the probe's regions (a box or a painted mask), composed here from the
// image and baseline buffers with no round trip to the kernel. Pure: no DOM, inputs untouched.
import type { Box } from "./geometry";
import type { RGBAImage, SweepMode } from "./sync";

/** A painted region: row-major, `width * height` values, non-zero inside. */
export interface PixelMask {
  mask: Uint8Array;
  width: number;
  height: number;
}

/**
 * The RGBA pixels the model received with `region` occluded (`mode` "occlude": the region takes
 * the baseline's pixels) or revealed ("reveal": only the region keeps the image's pixels, the rest
 * is baseline). A box is clipped to the image. Where the baseline's or the mask's size is not the
 * image's, nothing can be composed and the image comes back unchanged.
 *
 * @example
 * // 5 x 3 image, the patch of row 0, column 1 of a 2 x 2 grid:
 * composeSeen(image, baseline, { top: 0, left: 2, height: 2, width: 2 }, "occlude");
 */
export function composeSeen(
  image: RGBAImage,
  baseline: RGBAImage,
  region: Box | PixelMask,
  mode: SweepMode,
): Uint8ClampedArray {
  const { width, height } = image;
  const size = width * height * 4;
  const fits =
    baseline.width === width &&
    baseline.height === height &&
    (!("mask" in region) || (region.width === width && region.height === height));
  if (!fits) return new Uint8ClampedArray(image.data.subarray(0, size));
  const [inside, outside] = mode === "reveal" ? [image, baseline] : [baseline, image];
  const out = new Uint8ClampedArray(outside.data.subarray(0, size));
  if ("mask" in region) {
    for (let i = 0; i < width * height; i++) {
      if (region.mask[i] !== 0) out.set(inside.data.subarray(i * 4, i * 4 + 4), i * 4);
    }
    return out;
  }
  const top = Math.max(0, region.top);
  const left = Math.max(0, region.left);
  const bottom = Math.min(height, region.top + region.height);
  const right = Math.min(width, region.left + region.width);
  for (let y = top; y < bottom; y++) {
    const start = (y * width + left) * 4;
    const end = (y * width + right) * 4;
    if (end > start) out.set(inside.data.subarray(start, end), start);
  }
  return out;
}
