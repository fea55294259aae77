// anywidget entry: wires the synced model to the views and returns a cleanup.
import type { AnyModel, RenderProps } from "@anywidget/types";
import { decodeArray, type EncodedArray } from "./codecs";

export const version: string = __OW_VERSION__;

interface Model {
  image: EncodedArray | null;
  _version: string;
}

function drawImage(canvas: HTMLCanvasElement, encoded: EncodedArray | null): void {
  const image = decodeArray(encoded);
  if (image === null) return;
  const [height = 0, width = 0] = image.shape;
  canvas.width = width;
  canvas.height = height;
  // Small images (CIFAR's 32x32) are scaled up with crisp pixels, large ones fit the cell.
  const scale = Math.max(1, Math.floor(256 / Math.max(width, height)));
  canvas.style.width = `${Math.min(width * scale, 640)}px`;
  canvas.style.imageRendering = "pixelated";
  const ctx = canvas.getContext("2d");
  if (ctx === null) return;
  const pixels = new Uint8ClampedArray(
    image.data.buffer as ArrayBuffer,
    image.data.byteOffset,
    image.data.byteLength,
  );
  ctx.putImageData(new ImageData(pixels, width, height), 0, 0);
}

function render({ model, el }: RenderProps<Model>): () => void {
  const canvas = document.createElement("canvas");
  canvas.dataset.testid = "ow-map";
  el.classList.add("occlusion-widget");
  el.appendChild(canvas);
  const redraw = (): void => drawImage(canvas, model.get("image"));
  redraw();
  model.on("change:image", redraw);
  return () => model.off("change:image", redraw);
}

export default { render } satisfies { render: (props: RenderProps<Model>) => () => void };
export type { AnyModel };
