#!/usr/bin/env python3
"""A labcast analysis in Python: counts the bright spots of each frame and
publishes the count back to labcast serve, like the built-in analyses.

    python3 spot_counter.py [--data tcp://127.0.0.1:5555] [--results-in tcp://127.0.0.1:5560]
                            [--name spot_counter] [--results N]

It subscribes to the frames (data endpoint), keeps only the newest (it skips,
and counts, frames it cannot keep up with), and publishes on the topic
"analysis/<name>" to serve's results_in endpoint; anyone subscribed to the
results endpoint (tcp://127.0.0.1:5559) gets them. Needs pyzmq and numpy
(Debian: python3-zmq python3-numpy). Message layout: docs/protocol.md.
"""
import argparse
import json
import time

import numpy as np
import zmq


def count_spots(image, k=5.0):
    """Spots = local maxima of the 3x3 mean above background + k * noise (median, MAD)."""
    image = image.astype(np.float32)
    background = float(np.median(image))
    noise = max(1.4826 * float(np.median(np.abs(image - background))), 0.5)
    h, w = image.shape
    padded = np.pad(image, 1, mode="edge")
    box = sum(padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3))
    around = np.pad(box, 1, mode="constant", constant_values=-np.inf)
    peak = image > background + k * noise
    for dy in range(3):
        for dx in range(3):
            if (dy, dx) != (1, 1):
                peak &= box >= around[dy:dy + h, dx:dx + w]
    ys, xs = np.nonzero(peak)
    return {"count": int(len(xs)), "x": xs.tolist(), "y": ys.tolist(),
            "background": background, "noise": noise}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="tcp://127.0.0.1:5555", help="labcast's data endpoint")
    parser.add_argument("--results-in", default="tcp://127.0.0.1:5560", help="labcast's results_in endpoint")
    parser.add_argument("--name", default="spot_counter", help="the analysis name: results go to analysis/NAME")
    parser.add_argument("--results", type=int, default=0, help="stop after this many results (0: run until Ctrl-C)")
    args = parser.parse_args()

    ctx = zmq.Context()
    frames = ctx.socket(zmq.SUB)
    frames.setsockopt(zmq.RCVHWM, 2)  # a slow analysis should see the newest frames, not a backlog
    frames.connect(args.data)
    frames.setsockopt(zmq.SUBSCRIBE, b"frame")
    results = ctx.socket(zmq.PUB)
    results.connect(args.results_in)
    topic = ("analysis/" + args.name).encode()
    published = skipped = 0
    last = None  # (run_id, seq) of the last frame analysed
    try:
        while args.results == 0 or published < args.results:
            parts = frames.recv_multipart()
            while frames.poll(0):  # newer frames waiting: take the newest
                parts = frames.recv_multipart()
            header = json.loads(parts[1])
            if last is not None and last[0] == header["run_id"]:
                skipped += max(0, header["seq"] - last[1] - 1)
            last = (header["run_id"], header["seq"])
            if len(header["shape"]) != 2:
                continue  # colour frames: not for this example
            image = np.frombuffer(parts[2], dtype=np.dtype(header["dtype"]).newbyteorder("<")).reshape(header["shape"])
            started = time.perf_counter()
            body = count_spots(image)
            body["skipped"] = skipped
            result_header = {
                "protocol": 1, "name": args.name, "kind": "python",
                "run_id": header["run_id"], "seq": header["seq"], "camera_ts_ns": header["camera_ts_ns"],
                "result_ts_ns": time.time_ns(), "shape": header["shape"],
                "analysis_ms": round(1000 * (time.perf_counter() - started), 3),
            }
            results.send_multipart([topic, json.dumps(result_header).encode(), json.dumps(body).encode()])
            published += 1
    except KeyboardInterrupt:
        pass
    finally:
        frames.close(linger=0)
        results.close(linger=1000)  # let the last results go out
        ctx.term()


if __name__ == "__main__":
    main()
