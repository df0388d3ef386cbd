// Uploads: big pictures are made smaller in the browser before they are sent, files over the
// limit are refused before they are read, and a refusal shows in the error banner.
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  Codec, Disposer, MAX_FILE_BYTES, MAX_SIDE, SEND_BYTES, errorBanner, fitWithin, planUpload,
  prepareUpload, sendFile, uploadButton,
} from "../src/components";
import { FakeModel, JPEG, PNG } from "./fake_model";

const MB = 1024 * 1024;

/** A picture of the given size that the fake codec "decodes"; encode() returns `encoded`. */
function fakeCodec(size: [number, number] | null, encoded: BlobPart = JPEG) {
  const calls: { encode: [number, number][]; closed: number; decoded: number } = {
    encode: [], closed: 0, decoded: 0,
  };
  const codec: Codec = {
    async decode() {
      calls.decoded += 1;
      if (!size) return null;
      return { width: size[0], height: size[1], source: {} as CanvasImageSource,
        close: () => { calls.closed += 1; } };
    },
    async encode(_source, width, height) {
      calls.encode.push([width, height]);
      return new Blob([encoded], { type: "image/jpeg" });
    },
  };
  return { codec, calls };
}

/** A small File that claims `size` bytes and must not be read. */
function hugeFile(name: string, size: number): File {
  const f = new File([PNG], name, { type: "image/png" });
  Object.defineProperty(f, "size", { value: size });
  f.arrayBuffer = () => { throw new Error("a refused file was read"); };
  return f;
}

describe("fitWithin", () => {
  it("keeps the aspect ratio and never enlarges", () => {
    expect(fitWithin(6000, 6000)).toEqual([MAX_SIDE, MAX_SIDE]);
    expect(fitWithin(6000, 3000)).toEqual([2048, 1024]);
    expect(fitWithin(3000, 6000, 1000)).toEqual([500, 1000]);
    expect(fitWithin(1000, 500)).toEqual([1000, 500]);
    expect(fitWithin(9000, 1)).toEqual([2048, 1]);
  });
});

describe("planUpload", () => {
  it("refuses files over the limit, naming the file and the limit", () => {
    const plan = planUpload("huge.png", 60 * MB, [6000, 6000]);
    expect(plan.kind).toBe("refuse");
    expect((plan as any).message).toContain("huge.png is 60.0 MB");
    expect((plan as any).message).toContain("50.0 MB");
  });

  it("sends small pictures as they are and shrinks big ones", () => {
    expect(planUpload("a.jpg", 3 * MB, [1600, 1200])).toEqual({ kind: "send" });
    expect(planUpload("b.png", 4 * MB, [6000, 6000])).toEqual({ kind: "shrink", width: 2048, height: 2048 });
    // Few pixels but a heavy file (an uncompressed BMP): re-encoded at its own size.
    expect(planUpload("c.bmp", 12 * MB, [2000, 1500])).toEqual({ kind: "shrink", width: 2000, height: 1500 });
  });

  it("leaves files the browser cannot read to the kernel while they are small", () => {
    expect(planUpload("notes.txt", 100, null)).toEqual({ kind: "send" });
    const plan = planUpload("scan.tiff", SEND_BYTES + 1, null);
    expect(plan.kind).toBe("refuse");
    expect((plan as any).message).toContain("scan.tiff");
  });
});

describe("prepareUpload", () => {
  it("draws a 6000 x 6000 picture at 2048 x 2048 and sends the JPEG", async () => {
    const { codec, calls } = fakeCodec([6000, 6000]);
    const file = new File([PNG], "big.png", { type: "image/png" });
    Object.defineProperty(file, "size", { value: 20 * MB });
    const status: string[] = [];
    const out = await prepareUpload(file, codec, (t) => status.push(t));
    expect(calls.encode).toEqual([[2048, 2048]]);
    expect(calls.closed).toBe(1);
    expect(out.mime).toBe("image/jpeg");
    expect(new Uint8Array(out.buffer)).toEqual(JPEG);
    expect(out.resized).toEqual({ from: [6000, 6000], to: [2048, 2048] });
    expect(status.at(-1)).toContain("6000×6000 to 2048×2048");
  });

  it("sends a small picture's own bytes", async () => {
    const { codec, calls } = fakeCodec([640, 480]);
    const out = await prepareUpload(new File([PNG], "cat.png", { type: "image/png" }), codec);
    expect(calls.encode).toEqual([]);
    expect(out.mime).toBe("image/png");
    expect(new Uint8Array(out.buffer)).toEqual(PNG);
  });

  it("refuses a file over the limit without reading or decoding it", async () => {
    const { codec, calls } = fakeCodec([6000, 6000]);
    await expect(prepareUpload(hugeFile("huge.png", MAX_FILE_BYTES + 1), codec))
      .rejects.toThrow(/huge\.png is 50\.0 MB/);
    expect(calls.decoded).toBe(0);
  });

  it("refuses a picture that stays too big after shrinking", async () => {
    const { codec } = fakeCodec([9000, 9000], new Uint8Array(SEND_BYTES + 1));
    const file = new File([PNG], "noise.png", { type: "image/png" });
    await expect(prepareUpload(file, codec)).rejects.toThrow(/still .* at 2048×2048/);
  });
});

describe("sendFile", () => {
  let d: Disposer;
  beforeEach(() => {
    d = new Disposer();
    document.body.replaceChildren();
  });

  it("shows a refusal in the error banner and sends nothing", async () => {
    const model = new FakeModel({ error: "" });
    const banner = errorBanner(model, d);
    await sendFile(model, hugeFile("huge.png", 60 * MB), fakeCodec(null).codec);
    expect(model.sent).toEqual([]);
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain("huge.png is 60.0 MB");
  });

  it("sends the shrunk picture with its original name and sizes", async () => {
    const model = new FakeModel();
    await sendFile(model, new File([PNG], "big.png", { type: "image/png" }), fakeCodec([6000, 4000]).codec);
    expect(model.sent[0].content).toMatchObject({
      type: "upload", name: "big.png", mime: "image/jpeg",
      resized: { from: [6000, 4000], to: [2048, 1365] },
    });
    expect(new Uint8Array(model.sent[0].buffers![0])).toEqual(JPEG);
  });

  it("the upload button says what it is doing, then clears it", async () => {
    const model = new FakeModel();
    const el = uploadButton(model, d);
    const input = el.querySelector("[data-testid=upload]") as HTMLInputElement;
    const status = el.querySelector("[data-testid=upload-status]") as HTMLElement;
    Object.defineProperty(input, "files", { value: [hugeFile("huge.png", 60 * MB)] });
    input.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(model.get("error")).toContain("huge.png"));
    expect(status.textContent).toBe("");
  });
});
