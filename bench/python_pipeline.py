"""The classic Python recipe labcast is measured against: a pyzmq PUB process
sending frames zero-copy, a SUB process writing them to an h5py chunked
dataset (one frame per chunk), file closed and fsync'd. High-water marks are
unlimited so that the recipe loses nothing and the comparison is like for like.

usage: python3 python_pipeline.py OUT.h5 FRAMES HEIGHT WIDTH
prints JSON: {"frames": received, "seconds": first frame sent -> file synced, "bytes": ...}
"""
import json, multiprocessing, os, sys, time

import h5py
import numpy as np
import zmq


def publish(endpoint, frames, height, width, ready):
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.bind(endpoint)
    ready.wait()
    time.sleep(0.5)  # PUB/SUB slow joiner: let the subscription arrive
    ramp = (np.arange(height * width, dtype=np.uint32) % 65536).astype(np.uint16).reshape(height, width)
    start = time.time_ns()
    for i in range(frames):
        frame = np.roll(ramp, i * 4)  # a fresh buffer per frame, as a camera gives
        header = json.dumps({"seq": i, "t0_ns": start}).encode()
        pub.send_multipart([b"frame", header, frame], copy=False)
    pub.send_multipart([b"end", b"{}"])
    pub.close(linger=-1)
    ctx.term()


def save(path, endpoint, height, width, ready, out):
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(endpoint)
    ready.set()
    received = 0
    t0 = None
    with h5py.File(path, "w", libver=("earliest", "v110")) as f:
        dset = f.create_dataset("frames", shape=(0, height, width), maxshape=(None, height, width),
                                chunks=(1, height, width), dtype="<u2")
        while True:
            topic, header, pixels = (sub.recv_multipart(copy=False) + [None])[:3]
            if topic.bytes == b"end":
                break
            if t0 is None:
                t0 = json.loads(header.bytes)["t0_ns"]
            dset.resize(received + 1, axis=0)
            dset[received] = np.frombuffer(pixels.buffer, dtype="<u2").reshape(height, width)
            received += 1
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    out.put({"frames": received, "seconds": (time.time_ns() - t0) / 1e9, "bytes": received * height * width * 2})
    sub.close(linger=0)
    ctx.term()


def main():
    path, frames, height, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    endpoint = "ipc://%s.sock" % path
    ready = multiprocessing.Event()
    out = multiprocessing.Queue()
    saver = multiprocessing.Process(target=save, args=(path, endpoint, height, width, ready, out))
    saver.start()
    publisher = multiprocessing.Process(target=publish, args=(endpoint, frames, height, width, ready))
    publisher.start()
    result = out.get()
    publisher.join()
    saver.join()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
