// The part of the anywidget model the components use, and a small bag of cleanups so that a
// view removes every listener it added when anywidget calls the render's cleanup function.

export type Listener = (...args: any[]) => void;

export interface WidgetModel {
  get(name: string): any;
  set(name: string, value: any): void;
  on(event: string, callback: Listener): void;
  off(event?: string | null, callback?: Listener | null): void;
  save_changes(): void;
  send(content: any, callbacks?: any, buffers?: (ArrayBuffer | ArrayBufferView)[]): void;
}

export interface RenderProps {
  model: WidgetModel;
  el: HTMLElement;
}

export class Disposer {
  private fns: (() => void)[] = [];

  add(fn: () => void): void {
    this.fns.push(fn);
  }

  /** Calls `callback` when trait `name` changes; removed on dispose. */
  listen(model: WidgetModel, name: string, callback: Listener): void {
    const event = `change:${name}`;
    model.on(event, callback);
    this.add(() => model.off(event, callback));
  }

  /** A DOM listener that is removed on dispose (`capture`: in the capture phase). */
  dom<K extends keyof HTMLElementEventMap>(
    target: HTMLElement | Document | Window,
    type: K | string,
    handler: (ev: any) => void,
    capture = false,
  ): void {
    target.addEventListener(type, handler, capture);
    this.add(() => target.removeEventListener(type, handler, capture));
  }

  dispose(): void {
    for (const fn of this.fns.splice(0).reverse()) fn();
  }
}

/** Sets a trait and sends it to the kernel. */
export function setTrait(model: WidgetModel, name: string, value: unknown): void {
  model.set(name, value);
  model.save_changes();
}

/** Asks the kernel-side widget to do something (start, stop, save, upload, ...). */
export function action(model: WidgetModel, type: string, extra: Record<string, unknown> = {},
                       buffers?: (ArrayBuffer | ArrayBufferView)[]): void {
  model.send({ type, ...extra }, undefined, buffers);
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c);
  return el;
}
