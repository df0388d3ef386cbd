// Is a kernel still behind this view? After a kernel restart the old outputs stay on the page
// and look alive: pictures, enabled buttons, "step 86/256". Nothing a user does there reaches a
// widget any more. This watch greys the controls and says so, from three signals:
//  - ipywidgets marks every model's comm dead when JupyterLab restarts the kernel (the model
//    fires "comm_live_update"; it fires only at creation, before any view, and on that loss);
//  - sending fails (a view rebuilt from saved widget state has no comm at all);
//  - a heartbeat: after the view appears and after every change it sends, it pings the kernel,
//    which answers "pong". No answer within `timeoutMs` while the kernel is idle means the
//    kernel that answers now is not the one that made the widget (a restart from elsewhere).
//    While a cell runs the kernel reads no messages, so a busy kernel only defers the verdict,
//    and a late answer brings the view back. A kernel that is (re)starting is a new one.
import { Disposer, WidgetModel, action, h, watchSends } from "./model";

export const KERNEL_RESTARTED = "the kernel behind this view has restarted: run the cell again";
// Where the front end cannot tell a busy kernel from none (other front ends, a page exported
// with its widget state), this says what is sure: nothing answers, the controls do nothing.
export const KERNEL_SILENT = "no kernel answers this view: run the cell again to use its controls";

export interface ConnectionOptions {
  /** how long to wait for an answer to a ping, in ms */
  timeoutMs?: number;
}

/** The kernel's status as JupyterLab's widget manager knows it ("idle", "busy", ...), or
 *  undefined where the front end does not tell. */
function kernelStatus(model: WidgetModel): string | undefined {
  const status = (model as any).widget_manager?.kernel?.status;
  return typeof status === "string" ? status : undefined;
}

export function connectionWatch(model: WidgetModel, root: HTMLElement, d: Disposer,
                                options: ConnectionOptions = {}): HTMLElement {
  const timeoutMs = options.timeoutMs ?? 5000;
  const banner = h("div", { class: "cnnw-connection", role: "alert", "data-testid": "kernel-status" });
  banner.hidden = true;
  let state: "live" | "silent" | "gone" = "live";
  let outstanding: number | null = null;
  let nextId = 1;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disabled: (HTMLInputElement | HTMLSelectElement | HTMLButtonElement | HTMLTextAreaElement)[] = [];

  const clearTimer = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  d.add(clearTimer);

  const lose = (text: string, final: boolean) => {
    if (state === "gone") return;
    state = final ? "gone" : "silent";
    banner.textContent = text;
    banner.hidden = false;
    root.classList.add("cnnw-disconnected");
    for (const el of root.querySelectorAll<HTMLInputElement>("input, select, button, textarea")) {
      if (!el.disabled) {
        el.disabled = true;
        disabled.push(el);
      }
    }
    if (final) {
      clearTimer();
      outstanding = null;
    }
  };

  const regain = () => {
    if (state !== "silent") return;
    state = "live";
    banner.hidden = true;
    root.classList.remove("cnnw-disconnected");
    for (const el of disabled) el.disabled = false;
    disabled = [];
  };

  const check = () => {
    timer = null;
    if (outstanding === null || state === "gone") return;
    const status = kernelStatus(model);
    if (status === "busy") {
      timer = setTimeout(check, timeoutMs); // it reads our ping once the running cell ends
      return;
    }
    // Any other status ends the wait: "idle" would have answered; "starting", "restarting"
    // and "autorestarting" name a new kernel process, which never knew this widget (a page
    // can stay at "starting" after a restart from elsewhere until it sends a request).
    lose(status === undefined ? KERNEL_SILENT : KERNEL_RESTARTED, false);
    timer = setTimeout(check, timeoutMs); // and keeps listening: a late answer brings it back
  };

  const ping = () => {
    if (state === "gone" || outstanding !== null) return; // one question at a time
    outstanding = nextId++;
    try {
      model.send({ type: "ping", id: outstanding });
    } catch {
      lose(KERNEL_RESTARTED, true);
      return;
    }
    clearTimer();
    timer = setTimeout(check, timeoutMs);
  };

  const onMessage = (msg: any) => {
    if (!msg || msg.type !== "pong" || msg.id !== outstanding) return;
    outstanding = null;
    clearTimer();
    regain();
  };
  // The event also fires when a comm is attached; only a comm that is not live is a loss.
  const onCommLost = () => {
    if ((model as any).comm_live !== true) lose(KERNEL_RESTARTED, true);
  };
  model.on("msg:custom", onMessage);
  model.on("comm_live_update", onCommLost);
  d.add(() => {
    model.off("msg:custom", onMessage);
    model.off("comm_live_update", onCommLost);
  });
  watchSends(model, { sent: ping, failed: () => lose(KERNEL_RESTARTED, true) }, d);
  return banner;
}

/** Tells the kernel that this view exists and, on dispose or when the page goes away, that it
 *  is gone: a widget whose last view went (its cell ran again, its output was cleared) stops
 *  its background work after a grace period. */
export function announceView(model: WidgetModel, d: Disposer): void {
  const view = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  action(model, "view_attached", { view });
  let gone = false;
  const detach = (page: boolean) => {
    if (gone) return;
    gone = true;
    try {
      // `page`: the whole page goes (closed or reloading); a reload shows the view again
      // once JupyterLab is back, so the kernel waits longer before it stops the work.
      model.send({ type: "view_detached", view, page });
    } catch {
      // no kernel to tell
    }
  };
  d.dom(window, "pagehide", () => detach(true));
  d.add(() => detach(false));
}

/** While this view lives, the static pictures of the same widget (outputs written for
 *  notebooks without a kernel, nbviewer and HTML exports) are hidden: one style rule per
 *  widget, kept until its last view goes. */
const staticHidden = new Map<string, { count: number; style: HTMLStyleElement }>();

export function hideStaticPictures(key: string, d: Disposer): void {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) return;
  let entry = staticHidden.get(key);
  if (!entry) {
    const style = document.createElement("style");
    style.dataset.cnnwStaticHide = key;
    const sel = `[data-cnnw-static="${key}"]`;
    // The output around the picture too (JupyterLab), so that no empty row is left.
    style.textContent = `${sel}, .jp-OutputArea-child:has(${sel}) { display: none !important; }`;
    document.head.append(style);
    entry = { count: 0, style };
    staticHidden.set(key, entry);
  }
  entry.count += 1;
  d.add(() => {
    const e = staticHidden.get(key);
    if (!e) return;
    e.count -= 1;
    if (e.count <= 0) {
      e.style.remove();
      staticHidden.delete(key);
    }
  });
}
