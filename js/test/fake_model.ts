// A stand-in for the anywidget model: traits in a map, change events, and a log of what the
// view sent to the kernel (saved traits, custom messages with their buffers).
import type { Listener, WidgetModel } from "../src/components/model";

const FRAME_MESSAGES = new Set(["ping", "view_attached", "view_detached"]);

export class FakeModel implements WidgetModel {
  state: Record<string, any>;
  saved: Record<string, any>[] = [];
  sent: { content: any; buffers?: any[] }[] = [];
  frameSent: any[] = [];
  private listeners = new Map<string, Set<Listener>>();
  private dirty: Record<string, any> = {};

  constructor(state: Record<string, any> = {}) {
    this.state = { error: "", ...state };
  }

  get(name: string): any {
    return this.state[name];
  }

  set(name: string, value: any): void {
    this.state[name] = value;
    this.dirty[name] = value;
    this.emit(`change:${name}`, value);
  }

  /** A change that comes from the kernel (not recorded as saved by the view). */
  kernelSet(name: string, value: any): void {
    this.state[name] = value;
    this.emit(`change:${name}`, value);
  }

  on(event: string, cb: Listener): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(cb);
  }

  off(event?: string | null, cb?: Listener | null): void {
    if (!event) {
      this.listeners.clear();
      return;
    }
    if (!cb) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(cb);
  }

  save_changes(): void {
    this.saved.push(this.dirty);
    this.dirty = {};
  }

  send(content: any, _callbacks?: any, buffers?: any[]): void {
    // The frame's own bookkeeping (views, heartbeat) goes to its own log, so that `sent`
    // holds what the user's actions sent.
    if (FRAME_MESSAGES.has(content?.type)) this.frameSent.push(content);
    else this.sent.push({ content, buffers });
  }

  /** A custom message from the kernel ("msg:custom"), as anywidget delivers it. */
  kernelSend(content: any, buffers: any[] = []): void {
    for (const cb of [...(this.listeners.get("msg:custom") ?? [])]) cb(content, buffers);
  }

  /** An event of the ipywidgets model itself (e.g. "comm_live_update" when the kernel goes). */
  trigger(event: string): void {
    for (const cb of [...(this.listeners.get(event) ?? [])]) cb();
  }

  listenerCount(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  private emit(event: string, value: any): void {
    for (const cb of [...(this.listeners.get(event) ?? [])]) cb(this, value);
  }
}

export const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
export const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0]);
