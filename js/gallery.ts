// anywidget entry of the gallery (occlusion_widget/gallery.py's GalleryGrid): one page of
// thumbnails with their sensitivity maps, sorted and filtered in the kernel. Clicking an image
// sets `selected`; the kernel opens it in the single-image widget below the grid.
import type { AnyModel, RenderProps } from "@anywidget/types";
import { h } from "./shared/dom";
import { GALLERY_TRAITS, readFilters, readGallery, type GalleryTraits } from "./gallery/state";
import { GalleryView } from "./gallery/view";
import { GALLERY_CLASS, injectGalleryStyles } from "./gallery/styles";
import { injectStyles, ROOT_CLASS } from "./shared/styles";

export const version: string = __OW_VERSION__;

type Model = AnyModel<GalleryTraits>;

function render({ model, el }: RenderProps<GalleryTraits>): () => void {
  const abort = new AbortController();
  const save = (): void => model.save_changes();
  // The kernel resets the page when the sort or a filter changes; writing 0 here too keeps the
  // pager from showing a stale page number meanwhile.
  const view = new GalleryView(
    {
      sort(by) {
        model.set("sort_by", by);
        model.set("page", 0);
        save();
      },
      descending(value) {
        model.set("descending", value);
        model.set("page", 0);
        save();
      },
      filter(name, value) {
        model.set("filters", { ...readFilters(model.get("filters")), [name]: value });
        model.set("page", 0);
        save();
      },
      page(page) {
        model.set("page", page);
        save();
      },
      open(id) {
        model.set("selected", id);
        save();
      },
    },
    abort.signal,
  );
  const root = h("div", {
    className: `${ROOT_CLASS} ${GALLERY_CLASS}`,
    testid: "gallery",
    attrs: { "data-ow-version": version },
  });
  injectStyles(root);
  injectGalleryStyles(root);
  root.append(view.element);
  el.appendChild(root);

  const draw = (): void => view.update(readGallery(model));
  const m = model as Model;
  for (const name of GALLERY_TRAITS) m.on(`change:${name}`, draw);
  draw();
  return () => {
    for (const name of GALLERY_TRAITS) m.off(`change:${name}`, draw);
    abort.abort();
    root.remove();
  };
}

export default { render } satisfies { render: (props: RenderProps<GalleryTraits>) => () => void };
