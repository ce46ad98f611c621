import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runLabcast, runPython, scratchDir } from '../helpers/processes.js';

/**
 * A colour recording must show as colour images in the viewers the README
 * names. silx (Debian's python3-silx 1.1) is run for real, offscreen: its
 * NXdata parsing and the view its DataViewer picks. h5web is a web app and is
 * not run here; its rules (packages/app/src/vis-packs/nexus/visualizations.ts:
 * NxRGB for a numeric signal of >= 3 dims whose last is 3 or 4, with
 * interpretation rgb-image or rgba-image (v17+), or CLASS=IMAGE in every
 * version, IMAGE_SUBCLASS IMAGE_TRUECOLOR if present) are checked on the
 * attributes.
 */
const SILX_VIEW = `
import json, os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
import h5py
from silx.io.nxdata import NXdata
from silx.gui import qt
from silx.gui.data.DataViewer import DataViewer
from silx.gui.plot import PlotWidget
from silx.gui.plot.items import ImageRgba
app = qt.QApplication([])
with h5py.File(sys.argv[1], "r") as f:
    nxd = NXdata(f["entry/data"])
    viewer = DataViewer()
    viewer.setData(f["entry/data"])
    app.processEvents()
    images = [p.getActiveImage() for p in viewer.findChildren(PlotWidget) if p.getActiveImage() is not None]
    frames = f["entry/data/frames"]
    print(json.dumps({
        "valid": nxd.is_valid,
        "interpretation": nxd.interpretation,
        "is_image": nxd.is_image,
        "rgb_images": [list(i.getData(copy=False).shape) for i in images if isinstance(i, ImageRgba)],
        "other_images": [type(i).__name__ for i in images if not isinstance(i, ImageRgba)],
        "shape": list(frames.shape),
        "dtype_kind": frames.dtype.kind,
        "attrs": {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in frames.attrs.items() if k != "valid_frames"},
    }))
    viewer.close()
`;

interface SilxView {
  valid: boolean;
  interpretation: string | null;
  is_image: boolean;
  rgb_images: number[][];
  other_images: string[];
  shape: number[];
  dtype_kind: string;
  attrs: Record<string, string>;
}

const noSilx = (await runPython('import silx.gui.qt')).code !== 0 ? 'python3-silx (with PyQt5) is not installed' : false;

describe('a colour recording in silx and h5web', { skip: noSilx }, () => {
  const scratch = scratchDir();
  const out = join(scratch.dir, 'colour.h5');
  let view: SilxView;

  before(async () => {
    const recorded = await runLabcast([
      'record',
      '--camera',
      'lavfi:testsrc2=size=64x48:rate=30',
      '--frames',
      '5',
      '--out',
      out,
      '--publish',
      'tcp://127.0.0.1:*',
    ]);
    assert.equal(recorded.code, 0, recorded.stderr);
    const shown = await runPython(SILX_VIEW, [out]);
    assert.equal(shown.code, 0, shown.stderr);
    view = JSON.parse(shown.stdout.trim().split('\n').pop()!) as SilxView;
  });
  after(() => scratch.cleanup());

  test('silx: a valid NXdata image, shown as an RGB image of 48 x 64 (one frame of the stack), not a stack of 64 x 3 slices', () => {
    assert.equal(view.valid, true);
    assert.equal(view.interpretation, 'rgba-image');
    assert.equal(view.is_image, true);
    assert.deepEqual(view.rgb_images, [[48, 64, 3]]);
    assert.deepEqual(view.other_images, []);
  });

  test("h5web's rules: numeric [N, H, W, 3] with an rgb(a)-image interpretation and CLASS=IMAGE (true colour)", () => {
    assert.deepEqual(view.shape, [5, 48, 64, 3]);
    assert.equal(view.dtype_kind, 'u');
    assert.ok(['rgb-image', 'rgba-image'].includes(view.attrs.interpretation!));
    assert.equal(view.attrs.CLASS, 'IMAGE');
    assert.equal(view.attrs.IMAGE_SUBCLASS, 'IMAGE_TRUECOLOR');
  });
});
