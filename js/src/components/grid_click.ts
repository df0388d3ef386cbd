// Maps a click on a grid picture to the item under it. The kernel describes the grid in a
// `grid_layout` trait: {ncols, nrows, channels: [item of each tile, row by row]}.
import { WidgetModel } from "./model";

export function tileAt(layout: any, x: number, y: number): number | undefined {
  const ncols = Number(layout?.ncols ?? 0);
  const nrows = Number(layout?.nrows ?? 0);
  const items: number[] = layout?.channels ?? [];
  if (ncols <= 0 || nrows <= 0) return undefined;
  const i = Math.min(Math.floor(y * nrows), nrows - 1) * ncols + Math.min(Math.floor(x * ncols), ncols - 1);
  return i >= 0 && i < items.length ? items[i] : undefined;
}

export function gridClick(model: WidgetModel, choose: (item: number) => void,
                          layoutTrait = "grid_layout"): (x: number, y: number) => void {
  return (x, y) => {
    const item = tileAt(model.get(layoutTrait), x, y);
    if (item !== undefined) choose(item);
  };
}
