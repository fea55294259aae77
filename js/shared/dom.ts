// Small DOM helpers. Strings reach the page only through textContent, option.text and
// setAttribute, never as HTML: class names are user data.

export interface ElementProps {
  className?: string;
  text?: string;
  testid?: string;
  attrs?: Record<string, string>;
}

/** Create an element with text and attributes set safely. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  children: Node[] = [],
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.className !== undefined) el.className = props.className;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.testid !== undefined) el.dataset.testid = props.testid;
  for (const [name, value] of Object.entries(props.attrs ?? {})) el.setAttribute(name, value);
  for (const child of children) el.appendChild(child);
  return el;
}

/** Set text only when it changed, so redraws do not disturb selection or screen readers. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** The 2D context, or null where there is none (jsdom, a lost context). */
export function context2d(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
  try {
    return canvas.getContext("2d") ?? null;
  } catch {
    return null;
  }
}

/** Put RGBA pixels on a canvas at its own size; a no-op without a 2D context. */
export function putPixels(
  canvas: HTMLCanvasElement,
  pixels: Uint8ClampedArray,
  width: number,
  height: number,
): void {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = context2d(canvas);
  if (ctx === null || width === 0 || height === 0) return;
  const data = ctx.createImageData(width, height);
  data.data.set(pixels.subarray(0, width * height * 4));
  ctx.putImageData(data, 0, 0);
}

/** Probabilities as text: three decimals, so "0.912" also reads as 0.91. */
export function formatProbability(p: number): string {
  return Number.isFinite(p) ? p.toFixed(3) : "–";
}

/** A signed number with an explicit sign, for drops in probability. */
export function formatSigned(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return "–";
  const s = v.toFixed(digits);
  return v > 0 ? `+${s}` : s;
}
